/**
 * Trusted `gateway.request()`: the service's `requests` rules (methods, exact paths, `*`, trailing
 * `/**`), path hygiene (dot segments, encoded separators, query/fragment), caller and header
 * refusals, query/body/idempotency-key/timeout handling, credentials and the audit record.
 * Every refusal also proves that nothing reached the network. Loopback only.
 * @see DESIGN.md §2, §3 `requests`, §4.3, §5 "Paths", "Callers"; FR-07, SR-05, TR-04
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallResult, TrustedRequest } from '../src/index.ts';
import { spyConnections } from './support/connect-spy.ts';
import { expectFailure, safeStringify } from './support/envelope-assert.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';

const API_KEY = 'QXZJ-request-api-key-KVWY';
/** The service's policy deadline; `timeoutMs` may shorten it, never lengthen it. */
const POLICY_TIMEOUT_MS = 1500;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function requestPolicy(port: number): object {
  const baseUrl = `https://api.test:${port}/v1`;
  return {
    version: 1,
    credentials: { 'api-key': { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      api: {
        baseUrl,
        rationale: 'Trusted request() tests.',
        credential: 'api-key',
        privateRanges: LOOPBACK_RANGES,
        limits: { timeoutMs: POLICY_TIMEOUT_MS, retries: 0 },
        requests: [
          { methods: ['GET'], path: '/status' },
          { methods: ['GET'], path: '/text' },
          { methods: ['GET'], path: '/items/*' },
          { methods: ['GET'], path: '/files/**' },
          { methods: ['POST'], path: '/echo' },
          { methods: ['GET'], path: '/hang' },
        ],
      },
      // Allows every path, so a refused path proves the path check itself, not a rule miss.
      wide: {
        baseUrl,
        rationale: 'Path hygiene tests.',
        privateRanges: LOOPBACK_RANGES,
        limits: { timeoutMs: POLICY_TIMEOUT_MS, retries: 0 },
        requests: [{ methods: ['GET'], path: '/**' }],
      },
    },
  };
}

describe('gateway.request() within `requests` rules (DESIGN §4.3, §5 "Paths"; FR-07, SR-05, TR-04)', () => {
  let fixture: GatewayFixture;
  const seen: Seen[] = [];
  const hanging: ServerResponse[] = [];

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = new URL(req.url ?? '/', 'https://x.invalid').pathname;
      if (path === '/v1/hang') {
        hanging.push(res); // never answered; the server's close() destroys the socket
        return;
      }
      if (path === '/v1/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('plain words');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ fixed: 'answer', path }));
    });
  };

  before(async () => {
    fixture = await startGatewayFixture({ policy: requestPolicy, handler, secrets: { 'api-key': { key: API_KEY } } });
  });
  after(() => fixture.close());

  /** Runs `run`, expecting it to fail as `kind`/`reason` with no connection and no request seen. */
  async function expectRefusedUnsent(
    run: () => Promise<CallResult>,
    kind: 'blocked_by_policy' | 'invalid_input',
    reason: string,
  ): Promise<void> {
    const spy = spyConnections();
    const requestsBefore = seen.length;
    const auditBefore = fixture.audit.length;
    try {
      const result = await run();
      expectFailure(result, { kind, reason, retryable: false });
      assert.equal(spy.count, 0, `connect attempts: ${safeStringify(spy.attempts)}`);
      assert.equal(spy.sockets, 0, 'a socket was asked to connect');
      assert.equal(spy.undiciConnects, 0, 'undici opened a connection');
      // A pooled keep-alive socket would not show on the spy; the server's log would.
      assert.equal(seen.length, requestsBefore, `the server saw ${safeStringify(seen.slice(requestsBefore).map(({ method, url }) => ({ method, url })))}`);
      assert.equal(fixture.audit.length, auditBefore + 1, 'one audit event per refused call');
      assert.equal(fixture.audit.at(-1)!.outcome, kind);
      assert.equal(fixture.audit.at(-1)!.reason, reason);
    } finally {
      spy.dispose();
    }
  }

  async function expectOk(service: string, request: TrustedRequest): Promise<{ data: unknown; seen: Seen }> {
    const before = seen.length;
    const result = await fixture.gateway.request(service, request);
    assert.equal(result.ok, true, safeStringify(result));
    assert.ok(result.ok);
    assert.equal(result.status, 200);
    assert.equal(seen.length, before + 1, 'exactly one request reached the server');
    return { data: result.data, seen: seen.at(-1)! };
  }

  describe('rule matching', () => {
    it('allows GET /status under a {methods: [GET], path: /status} rule and parses JSON data', async () => {
      const { data, seen: request } = await expectOk('api', { method: 'GET', path: '/status' });
      assert.deepEqual(data, { fixed: 'answer', path: '/v1/status' });
      assert.equal(request.method, 'GET');
      assert.equal(request.url, '/v1/status');
    });

    it('returns a non-JSON answer as a string', async () => {
      const { data } = await expectOk('api', { path: '/text' });
      assert.equal(data, 'plain words');
    });

    it('defaults the method to GET and accepts it in lower case', async () => {
      assert.equal((await expectOk('api', { path: '/status' })).seen.method, 'GET');
      assert.equal((await expectOk('api', { method: 'get', path: '/status' })).seen.method, 'GET');
    });

    it('refuses POST /status as blocked_by_policy/method_not_allowed', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { method: 'POST', path: '/status' }), 'blocked_by_policy', 'method_not_allowed');
    });

    it('refuses GET /other as blocked_by_policy/path_not_allowed', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/other' }), 'blocked_by_policy', 'path_not_allowed');
    });

    it('refuses a path that only extends an exact rule (/status/x, /status/)', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/status/x' }), 'blocked_by_policy', 'path_not_allowed');
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/status/' }), 'blocked_by_policy', 'path_not_allowed');
    });

    it('lets `*` match exactly one segment: /items/42 allowed', async () => {
      const { seen: request } = await expectOk('api', { path: '/items/42' });
      assert.equal(request.url, '/v1/items/42');
    });

    it('lets `*` match exactly one segment: /items/42/x refused', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/items/42/x' }), 'blocked_by_policy', 'path_not_allowed');
    });

    it('lets `*` match exactly one segment: /items refused', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/items' }), 'blocked_by_policy', 'path_not_allowed');
    });

    it('does not let `*` match an empty segment (/items/ is the collection, like /items)', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/items/' }), 'blocked_by_policy', 'path_not_allowed');
    });

    it('lets a trailing `/**` match any rest (/files/a, /files/a/b/c)', async () => {
      assert.equal((await expectOk('api', { path: '/files/a' })).seen.url, '/v1/files/a');
      assert.equal((await expectOk('api', { path: '/files/a/b/c' })).seen.url, '/v1/files/a/b/c');
    });

    it('lets a trailing `/**` match the bare prefix too: /files alone is allowed (documented finding)', async () => {
      assert.equal((await expectOk('api', { path: '/files' })).seen.url, '/v1/files');
    });

    it('does not let `/**` widen its prefix (/filesx, /other/files/a refused)', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/filesx' }), 'blocked_by_policy', 'path_not_allowed');
      await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/other/files/a' }), 'blocked_by_policy', 'path_not_allowed');
    });
  });

  describe('path hygiene: refused as blocked_by_policy/path_not_allowed even under a `/**` rule', () => {
    const hostile: [string, unknown][] = [
      ['a `..` segment (/a/../status)', '/a/../status'],
      ['a leading `..` segment (/../v1/status)', '/../v1/status'],
      ['a `.` segment (/./status)', '/./status'],
      ['an encoded `..` segment (/%2e%2e/status)', '/%2e%2e/status'],
      ['an encoded upper-case `..` segment (/%2E%2E/status)', '/%2E%2E/status'],
      ['a half-encoded `..` segment (/.%2e/status)', '/.%2e/status'],
      ['an encoded `.` segment (/%2e/status)', '/%2e/status'],
      ['an encoded slash (/a%2Fb)', '/a%2Fb'],
      ['an encoded slash in lower case (/a%2fb)', '/a%2fb'],
      ['a backslash (/a\\..\\status)', '/a\\..\\status'],
      ['an encoded backslash (/a%5Cb)', '/a%5Cb'],
      ['an encoded NUL (/a%00b)', '/a%00b'],
      ['an encoded CR/LF (/a%0D%0AX-Injected:1)', '/a%0D%0AX-Injected:1'],
      ['a raw CR/LF', '/status\r\nX-Injected: 1'],
      ['a malformed escape (/a%zz)', '/a%zz'],
      ['a `..;` segment, `..` to a servlet container (/files/..;/..;/admin)', '/files/..;/..;/admin'],
      ['an encoded `..;x` segment (/%2e%2e;x/admin)', '/%2e%2e;x/admin'],
      ['a `.;` segment (/.;/status)', '/.;/status'],
      ['a `;` segment with no name (/;jsessionid=1/status)', '/;jsessionid=1/status'],
      ['a `?` inside the path (/status?admin=1)', '/status?admin=1'],
      ['a `#` inside the path (/status#frag)', '/status#frag'],
      ['a missing leading slash (status)', 'status'],
      ['an empty first segment, scheme-relative to an upstream URL parser (//evil.example/status)', '//evil.example/status'],
      ['an absolute URL (https://evil.example/)', 'https://evil.example/'],
      ['a space (/a b)', '/a b'],
      ['a non-ASCII character (/stätus)', '/stätus'],
      ['an empty string', ''],
      ['a number', 42],
      ['null', null],
      ['an object', { toString: () => '/status' }],
      ['a missing path', undefined],
    ];
    for (const [name, path] of hostile) {
      it(`refuses ${name} with nothing dialed`, async () => {
        await expectRefusedUnsent(
          () => fixture.gateway.request('wide', { path } as unknown as TrustedRequest),
          'blocked_by_policy',
          'path_not_allowed',
        );
      });
    }

    it('still allows an ordinary path under the `/**` rule (control for the refusals above)', async () => {
      assert.equal((await expectOk('wide', { path: '/a/b.json' })).seen.url, '/v1/a/b.json');
      assert.equal((await expectOk('wide', { path: '/a;v=2/b' })).seen.url, '/v1/a;v=2/b', 'matrix parameters on a named segment');
    });

    it('reads the request once, as JSON data: unreadable fields are invalid_input/unsafe_value, never internal_error', async () => {
      const unreadable: [string, unknown][] = [
        ['a throwing path getter', Object.defineProperty({}, 'path', { enumerable: true, get: () => { throw new Error('no'); } })],
        ['a Proxy request', new Proxy({ path: '/status' }, { ownKeys: () => { throw new Error('no'); } })],
        ['a BigInt in the query', { path: '/a', query: { n: 1n } }],
        ['a null query', { path: '/a', query: null }],
        ['headers that are an array', { path: '/a', headers: ['x'] }],
      ];
      for (const [name, request] of unreadable) {
        await expectRefusedUnsent(() => fixture.gateway.request('wide', request as TrustedRequest), 'invalid_input', 'unsafe_value').catch((error: unknown) => {
          throw new Error(`${name}: ${(error as Error).message}`);
        });
      }
    });
  });

  describe('callers and services (DESIGN §4.3, §5 "Callers")', () => {
    it("refuses caller 'renderer' as blocked_by_policy/caller_not_allowed", async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status' }, { caller: 'renderer' } as unknown as { caller: 'main' }),
        'blocked_by_policy',
        'caller_not_allowed',
      );
      assert.equal(fixture.audit.at(-1)!.caller, 'renderer');
    });

    it("refuses caller 'renderer' even for an unknown service (caller checked first)", async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('nope', { path: '/status' }, { caller: 'renderer' } as unknown as { caller: 'main' }),
        'blocked_by_policy',
        'caller_not_allowed',
      );
    });

    it('refuses an unknown service as blocked_by_policy/unknown_service', async () => {
      await expectRefusedUnsent(() => fixture.gateway.request('nope', { path: '/status' }), 'blocked_by_policy', 'unknown_service');
      const error = (await fixture.gateway.request('__proto__', { path: '/status' })) as { ok: false; error: { kind: string; operation: string } };
      assert.equal(error.error.kind, 'blocked_by_policy');
      assert.equal(error.error.operation, '__proto__');
    });
  });

  describe('headers', () => {
    const forbidden: [string, Record<string, string>][] = [
      ['Host', { Host: 'evil.example' }],
      ['Authorization', { Authorization: 'Bearer stolen' }],
      ['Cookie', { Cookie: 'sid=1' }],
      ['Content-Length', { 'Content-Length': '0' }],
      ['Transfer-Encoding', { 'Transfer-Encoding': 'chunked' }],
      ['Proxy-Authorization', { 'Proxy-Authorization': 'Basic eA==' }],
      ["the service's apiKey header name (X-Api-Key)", { 'X-Api-Key': 'other-key' }],
      ["the service's apiKey header name in another case (x-api-KEY)", { 'x-api-KEY': 'other-key' }],
      ['Connection', { Connection: 'close' }],
      ['Idempotency-Key (set only through idempotencyKey)', { 'Idempotency-Key': 'k' }],
      ['traceparent (owned by Gatehouse)', { traceparent: '00-0-0-01' }],
      ['a header name with a space', { 'X Trace': 'v' }],
      ['a header name with a colon', { 'X-Trace:': 'v' }],
      ['an empty header name', { '': 'v' }],
    ];
    for (const [name, headers] of forbidden) {
      it(`refuses ${name} as invalid_input/forbidden_header with nothing dialed`, async () => {
        await expectRefusedUnsent(() => fixture.gateway.request('api', { path: '/status', headers }), 'invalid_input', 'forbidden_header');
      });
    }

    it('refuses a header value with CR/LF as invalid_input/unsafe_value with nothing dialed', async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status', headers: { 'X-Trace-Tag': 'a\r\nX-Injected: 1' } }),
        'invalid_input',
        'unsafe_value',
      );
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status', headers: { 'X-Trace-Tag': 'a\nb' } }),
        'invalid_input',
        'unsafe_value',
      );
    });

    it('refuses a header value outside Latin-1 (☃) as invalid_input/unsafe_value, not internal_error', async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status', headers: { 'X-Trace-Tag': 'snow☃man' } }),
        'invalid_input',
        'unsafe_value',
      );
    });

    it('refuses a non-string header value as invalid_input/unsafe_value', async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status', headers: { 'X-Trace-Tag': { a: 1 } } as unknown as Record<string, string> }),
        'invalid_input',
        'unsafe_value',
      );
    });

    it('sends a normal custom header (X-Trace-Tag) to the server', async () => {
      const { seen: request } = await expectOk('api', { path: '/status', headers: { 'X-Trace-Tag': 'tag-123' } });
      assert.equal(request.headers['x-trace-tag'], 'tag-123');
    });
  });

  describe('query, body, idempotency key, deadline, credential', () => {
    it('serialises a query object with string, number and array values', async () => {
      const { seen: request } = await expectOk('api', { path: '/status', query: { q: 'a b&c=d', n: 5, tag: ['x', 'y'], skip: undefined } });
      const url = new URL(request.url, 'https://x.invalid');
      assert.equal(url.pathname, '/v1/status');
      assert.equal(url.searchParams.get('q'), 'a b&c=d');
      assert.equal(url.searchParams.get('n'), '5');
      assert.deepEqual(url.searchParams.getAll('tag'), ['x', 'y']);
      assert.equal(url.searchParams.has('skip'), false);
    });

    it('refuses an object query value as invalid_input with nothing dialed', async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { path: '/status', query: { q: { nested: true } } }),
        'invalid_input',
        'unsafe_value',
      );
    });

    it('sends `json` as the body with content-type application/json', async () => {
      const { seen: request } = await expectOk('api', { method: 'POST', path: '/echo', json: { name: 'Oslo', days: [1, 2] } });
      assert.equal(request.method, 'POST');
      assert.equal(request.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(request.body), { name: 'Oslo', days: [1, 2] });
      assert.equal(Number(request.headers['content-length']), Buffer.byteLength(request.body));
    });

    it('sends idempotencyKey as the Idempotency-Key header', async () => {
      const { seen: request } = await expectOk('api', { method: 'POST', path: '/echo', json: {}, idempotencyKey: 'idem-42' });
      assert.equal(request.headers['idempotency-key'], 'idem-42');
    });

    it('refuses an idempotencyKey with CR/LF as invalid_input with nothing dialed', async () => {
      await expectRefusedUnsent(
        () => fixture.gateway.request('api', { method: 'POST', path: '/echo', idempotencyKey: 'a\r\nb' }),
        'invalid_input',
        'unsafe_value',
      );
    });

    it('shortens the policy deadline with a smaller timeoutMs (200 ms against a server that never answers)', async () => {
      const started = performance.now();
      const result = await fixture.gateway.request('api', { path: '/hang', timeoutMs: 200 });
      const elapsed = performance.now() - started;
      expectFailure(result, { kind: 'timeout', retryable: true });
      assert.ok(elapsed >= 180 && elapsed < 700, `ended after ${Math.round(elapsed)} ms, expected ~200 ms`);
    });

    it('does not lengthen the policy deadline with a larger timeoutMs', async () => {
      const started = performance.now();
      const result = await fixture.gateway.request('api', { path: '/hang', timeoutMs: 60_000 });
      const elapsed = performance.now() - started;
      expectFailure(result, { kind: 'timeout', retryable: true });
      assert.ok(
        elapsed >= POLICY_TIMEOUT_MS - 50 && elapsed < POLICY_TIMEOUT_MS + 700,
        `ended after ${Math.round(elapsed)} ms, expected ~${POLICY_TIMEOUT_MS} ms`,
      );
    });

    it("attaches the service's credential to request() calls", async () => {
      const { seen: request } = await expectOk('api', { path: '/status' });
      assert.equal(request.headers['x-api-key'], API_KEY);
    });

    it('sends a traceparent derived from the correlation id (TR-04)', async () => {
      const correlationId = '0f8fad5b-d9cb-469f-a165-70867728950e';
      const result = await fixture.gateway.request('api', { path: '/status' }, { correlationId });
      assert.ok(result.ok, safeStringify(result));
      assert.equal(result.correlationId, correlationId);
      const traceparent = String(seen.at(-1)!.headers.traceparent);
      assert.match(traceparent, /^00-0f8fad5bd9cb469fa16570867728950e-[0-9a-f]{16}-01$/);
    });

    it('derives a valid trace id from any other correlation id: upper case, not a UUID, all zeros (TR-04)', async () => {
      const traced = async (correlationId?: string): Promise<{ traceId: string; correlationId: string }> => {
        const result = await fixture.gateway.request('api', { path: '/status' }, { correlationId });
        assert.ok(result.ok, safeStringify(result));
        return { traceId: String(seen.at(-1)!.headers.traceparent).split('-')[1]!, correlationId: result.correlationId };
      };
      assert.equal((await traced('0F8FAD5B-D9CB-469F-A165-70867728950E')).traceId, '0f8fad5bd9cb469fa16570867728950e');
      const fromName = (await traced('order-4711')).traceId;
      assert.match(fromName, /^[0-9a-f]{32}$/);
      assert.equal((await traced('order-4711')).traceId, fromName, 'the same id gives the same trace');
      const fromZeros = (await traced('00000000-0000-0000-0000-000000000000')).traceId;
      assert.match(fromZeros, /^[0-9a-f]{32}$/);
      assert.notEqual(fromZeros, '0'.repeat(32), 'all zeros is not a valid trace id');
      const generated = await traced(undefined);
      assert.equal(generated.traceId, generated.correlationId.replaceAll('-', ''));
    });
  });

  describe('audit of request() (FR-07, SR-05, DESIGN §2 AuditEvent)', () => {
    it("records a refused method that is not HTTP's as (other), never the caller's text", async () => {
      const result = await fixture.gateway.request('api', { method: 'SENTINEL9', path: '/status' });
      assert.equal(!result.ok && result.error.reason, 'method_not_allowed');
      assert.equal(fixture.audit.at(-1)!.method, '(other)');
      assert.ok(!JSON.stringify(fixture.audit.at(-1)).includes('SENTINEL9'));
    });

    it("records the matched rule's path as pathTemplate and the service id as operation", async () => {
      const before = fixture.audit.length;
      const result = await fixture.gateway.request('api', { path: '/items/SECRETITEM77', query: { q: 'SECRETQUERY77' } }, { correlationId: 'req-audit-1' });
      assert.ok(result.ok, safeStringify(result));
      assert.equal(fixture.audit.length, before + 1);
      const event = fixture.audit.at(-1)!;
      assert.equal(event.pathTemplate, '/items/*');
      assert.equal(event.operation, 'api');
      assert.equal(event.service, 'api');
      assert.equal(event.method, 'GET');
      assert.equal(event.host, `api.test:${fixture.server.port}`);
      assert.equal(event.correlationId, 'req-audit-1');
      assert.equal(event.caller, 'main');
      assert.equal(event.outcome, 'ok');
      assert.equal(event.status, 200);
      const text = JSON.stringify(event);
      assert.ok(!text.includes('SECRETITEM77') && !text.includes('SECRETQUERY77'), text);
    });

    it('records `/files/**` (not the expanded path) for a deep path', async () => {
      await expectOk('api', { path: '/files/DEEPVALUE/b/c' });
      const event = fixture.audit.at(-1)!;
      assert.equal(event.pathTemplate, '/files/**');
      assert.ok(!JSON.stringify(event).includes('DEEPVALUE'));
    });
  });
});
