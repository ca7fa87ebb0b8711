/**
 * The audit: one event per call whatever the outcome, every AuditEvent field typed, correlation
 * ids passed through or generated, the diagnostics channels, the JSONL file sink, a throwing
 * host sink — and redaction: a property test proving that no secret, parameter, query, body or
 * header value reaches the audit file, the channels, the envelope or its `util.inspect`.
 * Loopback only.
 * @see DESIGN.md §2 "Secret store and audit event", §4.7, §5 "Audit timing"; FR-07, SR-05,
 *      PR-01, PR-02, TR-04; STYLE.md §10, §11
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import {
  ERROR_KINDS,
  REASONS,
  createGateway,
  type AuditEvent,
  type CallResult,
  type Gateway,
  type SecretStore,
} from '../src/index.ts';
import { memorySecretStore } from '../src/auth/memory-store.ts';
import { resolveCorrelation } from '../src/observe/correlation.ts';
import { fileAuditSink } from '../src/observe/file-sink.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { assertGenericMessage, safeStringify } from './support/envelope-assert.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { stubLookup } from './support/lookup.ts';
import { startHttpsServer, type TestServer } from './support/servers.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const OUTCOMES: ReadonlySet<string> = new Set(['ok', ...ERROR_KINDS]);
const REQUIRED_FIELDS = [
  'time', 'correlationId', 'caller', 'operation', 'service', 'method', 'pathTemplate', 'host',
  'outcome', 'durationMs', 'bytesIn', 'bytesOut', 'attempts', 'redirects',
] as const;
const STRING_FIELDS = ['time', 'correlationId', 'caller', 'operation', 'service', 'method', 'pathTemplate', 'host'] as const;
const COUNT_FIELDS = ['bytesIn', 'bytesOut', 'attempts', 'redirects'] as const;

/** Every AuditEvent field present with its type; nothing else. */
function assertEventShape(event: AuditEvent): void {
  const shown = safeStringify(event);
  const keys = new Set(Object.keys(event));
  for (const field of REQUIRED_FIELDS) assert.ok(keys.has(field), `missing ${field}: ${shown}`);
  const allowed = new Set<string>([...REQUIRED_FIELDS, 'status', 'reason', 'credential']);
  for (const key of keys) assert.ok(allowed.has(key), `unexpected field ${key}: ${shown}`);
  for (const field of STRING_FIELDS) assert.equal(typeof event[field], 'string', `${field}: ${shown}`);
  assert.match(event.time, ISO_8601, shown);
  assert.equal(new Date(event.time).toISOString(), event.time, `time is not canonical ISO 8601: ${shown}`);
  assert.ok(Math.abs(Date.now() - Date.parse(event.time)) < 60_000, `time is not now: ${shown}`);
  assert.ok(OUTCOMES.has(event.outcome), `outcome: ${shown}`);
  assert.ok(typeof event.durationMs === 'number' && Number.isFinite(event.durationMs) && event.durationMs >= 0, `durationMs: ${shown}`);
  for (const field of COUNT_FIELDS) {
    assert.ok(Number.isSafeInteger(event[field]) && event[field] >= 0, `${field}: ${shown}`);
  }
  if ('status' in event) assert.ok(Number.isInteger(event.status) && event.status! >= 100 && event.status! <= 599, `status: ${shown}`);
  if ('reason' in event) {
    assert.ok(Object.hasOwn(REASONS, event.reason!), `reason: ${shown}`);
    assert.notEqual(event.outcome, 'ok', `an ok call has a reason: ${shown}`);
    // upstream_status takes its kind from the status; every other reason belongs to one kind.
    if (event.reason !== 'upstream_status') assert.equal(REASONS[event.reason!], event.outcome, shown);
  }
  assert.ok(event.correlationId.length > 0 && event.correlationId.length <= 128, shown);
  if ('credential' in event) {
    assert.deepEqual(Object.keys(event.credential!).sort(), ['name', 'use'], shown);
    assert.ok(['fetched', 'cached', 'refreshed', 'failed'].includes(event.credential!.use), shown);
  }
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 20));
}

/** A loopback port with nothing listening on it (for connection-refused calls). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects what a diagnostics channel publishes until `dispose()`. */
function listen(name: string): { messages: unknown[]; dispose(): void } {
  const messages: unknown[] = [];
  const onMessage = (message: unknown): void => {
    messages.push(message);
  };
  subscribe(name, onMessage);
  return { messages, dispose: () => unsubscribe(name, onMessage) };
}

const cityParams = {
  type: 'object',
  properties: { city: { type: 'string', minLength: 1, maxLength: 64 }, days: { type: 'integer', minimum: 1, maximum: 14 } },
  required: ['city'],
  additionalProperties: false,
};

function auditPolicy(port: number, downPort: number): object {
  return {
    version: 1,
    credentials: { 'weather-key': { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      weather: {
        baseUrl: `https://api.test:${port}/v1`,
        rationale: 'Audit tests.',
        credential: 'weather-key',
        privateRanges: LOOPBACK_RANGES,
        limits: { timeoutMs: 3000, retries: 0 },
        operations: {
          getForecast: { method: 'GET', path: '/forecast/{city}', params: cityParams, query: ['days'], callers: ['renderer'] },
          save: { method: 'POST', path: '/favourites', params: { type: 'object', properties: { body: { type: 'object' } }, required: ['body'] }, body: 'body' },
          broken: { method: 'GET', path: '/broken' },
          missing: { method: 'GET', path: '/missing' },
          hop: { method: 'GET', path: '/hop' },
          hang: { method: 'GET', path: '/hang', limits: { timeoutMs: 300 } },
        },
        requests: [{ methods: ['GET'], path: '/status' }],
      },
      down: {
        baseUrl: `https://down.test:${downPort}/v1`,
        rationale: 'Nothing listens here.',
        privateRanges: LOOPBACK_RANGES,
        limits: { timeoutMs: 3000, retries: 0 },
        operations: { ping: { method: 'GET', path: '/ping' } },
      },
    },
  };
}

function auditHandler(seen: { url: string; headers: IncomingMessage['headers'] }[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    req.on('error', () => {});
    res.on('error', () => {});
    req.resume();
    req.on('end', () => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      const path = new URL(req.url ?? '/', 'https://x.invalid').pathname;
      if (path === '/v1/hang') return; // never answered
      if (path === '/v1/broken') return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
      if (path === '/v1/missing') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"none"}');
      if (path === '/v1/hop') return void res.writeHead(302, { location: '/v1/forecast/Oslo' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ days: [1, 2, 3] }));
    });
  };
}

describe('audit events (FR-07, SR-05, PR-01, TR-04, DESIGN §2 AuditEvent, §4.7, §5 "Audit timing")', () => {
  let fixture: GatewayFixture;
  const seen: { url: string; headers: IncomingMessage['headers'] }[] = [];

  before(async () => {
    const downPort = await closedPort();
    fixture = await startGatewayFixture({
      policy: (port) => auditPolicy(port, downPort),
      handler: auditHandler(seen),
      secrets: { 'weather-key': { key: 'QXZJ-audit-key-KVWY' } },
      dns: { 'down.test': ['127.0.0.1'] },
    });
  });
  after(() => fixture.close());

  interface Case {
    name: string;
    run: (gateway: Gateway) => Promise<CallResult>;
    outcome: AuditEvent['outcome'];
    reason?: string;
    check?: (event: AuditEvent) => void;
  }
  const refusedBeforeNetwork = (event: AuditEvent): void => {
    assert.equal(event.attempts, 0);
    assert.equal(event.bytesIn, 0);
    assert.equal(event.bytesOut, 0);
    assert.equal(event.redirects, 0);
    assert.equal('status' in event, false);
  };
  const cases: Case[] = [
    {
      name: 'an ok call',
      run: (g) => g.call('weather.getForecast', { city: 'Oslo', days: 2 }),
      outcome: 'ok',
      check: (event) => {
        assert.equal(event.status, 200);
        assert.equal(event.attempts, 1);
        assert.ok(event.bytesIn > 0, 'bytesIn counts the body');
        assert.equal(event.bytesOut, 0);
        assert.equal(event.redirects, 0);
        assert.equal(event.pathTemplate, '/forecast/{city}');
        assert.equal(event.service, 'weather');
        assert.equal(event.method, 'GET');
        assert.equal(event.host, `api.test:${fixture.server.port}`);
      },
    },
    {
      name: 'an ok call with a JSON body (bytesOut counts it)',
      run: (g) => g.call('weather.save', { body: { city: 'Oslo' } }),
      outcome: 'ok',
      check: (event) => assert.equal(event.bytesOut, Buffer.byteLength('{"city":"Oslo"}')),
    },
    {
      name: 'an ok call after a redirect (redirects counted)',
      run: (g) => g.call('weather.hop'),
      outcome: 'ok',
      check: (event) => {
        assert.equal(event.redirects, 1);
        assert.equal(event.status, 200);
      },
    },
    {
      name: 'an ok request()',
      run: (g) => g.request('weather', { path: '/status' }),
      outcome: 'ok',
      check: (event) => {
        assert.equal(event.operation, 'weather');
        assert.equal(event.pathTemplate, '/status');
      },
    },
    {
      name: 'an unknown operation',
      run: (g) => g.call('weather.nope', {}),
      outcome: 'blocked_by_policy',
      reason: 'unknown_operation',
      check: (event) => {
        refusedBeforeNetwork(event);
        assert.equal(event.operation, 'weather.nope');
      },
    },
    {
      name: 'a caller that is not allowed',
      run: (g) => g.call('weather.save', { body: {} }, { caller: 'renderer' }),
      outcome: 'blocked_by_policy',
      reason: 'caller_not_allowed',
      check: refusedBeforeNetwork,
    },
    {
      name: 'invalid params',
      run: (g) => g.call('weather.getForecast', { city: 'Oslo', days: 99 }),
      outcome: 'invalid_input',
      reason: 'invalid_params',
      check: (event) => {
        refusedBeforeNetwork(event);
        assert.equal(event.pathTemplate, '/forecast/{city}');
      },
    },
    {
      name: 'a request() path outside the rules',
      run: (g) => g.request('weather', { path: '/admin' }),
      outcome: 'blocked_by_policy',
      reason: 'path_not_allowed',
      check: refusedBeforeNetwork,
    },
    {
      name: 'an upstream 500',
      run: (g) => g.call('weather.broken'),
      outcome: 'server_error',
      reason: 'upstream_status',
      check: (event) => {
        assert.equal(event.status, 500);
        assert.equal(event.attempts, 1);
      },
    },
    {
      name: 'an upstream 404',
      run: (g) => g.call('weather.missing'),
      outcome: 'not_found',
      reason: 'upstream_status',
      check: (event) => assert.equal(event.status, 404),
    },
    {
      name: 'a refused connection (network error)',
      run: (g) => g.call('down.ping'),
      outcome: 'connection_error',
      reason: 'connection_refused',
      check: (event) => {
        assert.equal(event.attempts, 1);
        assert.equal('status' in event, false);
        assert.equal(event.service, 'down');
      },
    },
    {
      name: 'a timeout (network error)',
      run: (g) => g.call('weather.hang'),
      outcome: 'timeout',
      check: (event) => {
        assert.equal(event.attempts, 1);
        assert.ok(event.durationMs >= 250, `durationMs ${event.durationMs}`);
      },
    },
  ];

  describe('one event per call, every field typed', () => {
    for (const c of cases) {
      it(`writes exactly one well-formed event for ${c.name}`, async () => {
        const before = fixture.audit.length;
        const result = await c.run(fixture.gateway);
        await nextTurn(); // a late duplicate would show up here
        assert.equal(fixture.audit.length, before + 1, safeStringify(fixture.audit.slice(before)));
        const event = fixture.audit.at(-1)!;
        assertEventShape(event);
        assert.equal(event.outcome, c.outcome, safeStringify({ event, result }));
        if (c.reason !== undefined) assert.equal(event.reason, c.reason, safeStringify(event));
        if (result.ok) {
          assert.equal(event.correlationId, result.correlationId);
          assert.equal(event.status, result.status);
        } else {
          assert.equal(event.correlationId, result.error.correlationId);
          assert.equal(event.outcome, result.error.kind);
          assert.equal(event.reason, result.error.reason);
          assert.equal(event.status, result.error.status);
          assert.equal(event.operation, result.error.operation);
        }
        c.check?.(event);
      });
    }

    it('writes one event per call when many calls run at once', async () => {
      const before = fixture.audit.length;
      const results = await Promise.all(cases.filter((c) => c.outcome !== 'timeout').flatMap((c) => [c.run(fixture.gateway), c.run(fixture.gateway)]));
      await nextTurn();
      assert.equal(fixture.audit.length, before + results.length);
      const ids = results.map((r) => (r.ok ? r.correlationId : r.error.correlationId)).sort();
      assert.deepEqual(fixture.audit.slice(before).map((e) => e.correlationId).sort(), ids);
    });
  });

  describe('caller and correlation id (TR-04)', () => {
    it("records the caller role ('renderer', and 'main' by default)", async () => {
      await fixture.gateway.call('weather.getForecast', { city: 'Oslo' }, { caller: 'renderer' });
      assert.equal(fixture.audit.at(-1)!.caller, 'renderer');
      await fixture.gateway.call('weather.getForecast', { city: 'Oslo' });
      assert.equal(fixture.audit.at(-1)!.caller, 'main');
    });

    it('passes a safe correlation id through to the result, the error and the audit', async () => {
      const ok = await fixture.gateway.call('weather.getForecast', { city: 'Oslo' }, { correlationId: 'corr-OK.1:x_y' });
      assert.ok(ok.ok, safeStringify(ok));
      assert.equal(ok.correlationId, 'corr-OK.1:x_y');
      assert.equal(fixture.audit.at(-1)!.correlationId, 'corr-OK.1:x_y');
      const refused = await fixture.gateway.call('weather.nope', {}, { correlationId: 'corr-REFUSED' });
      assert.ok(!refused.ok);
      assert.equal(refused.error.correlationId, 'corr-REFUSED');
      assert.equal(fixture.audit.at(-1)!.correlationId, 'corr-REFUSED');
    });

    it('keeps a 128-character correlation id', async () => {
      const id = 'c'.repeat(128);
      const result = await fixture.gateway.call('weather.getForecast', { city: 'Oslo' }, { correlationId: id });
      assert.ok(result.ok);
      assert.equal(result.correlationId, id);
      assert.equal(fixture.audit.at(-1)!.correlationId, id);
    });

    const unsafe: [string, unknown][] = [
      ['absent', undefined],
      ['empty', ''],
      ['containing CR/LF', 'corr\r\nX-Injected: 1'],
      ['containing a space', 'corr 1'],
      ['longer than 128 characters', 'c'.repeat(129)],
      ['not a string', 12345],
    ];
    for (const [name, correlationId] of unsafe) {
      it(`generates a UUID when the correlation id is ${name}, the same in result, error and audit`, async () => {
        const ok = await fixture.gateway.call('weather.getForecast', { city: 'Oslo' }, { correlationId } as { correlationId: string });
        assert.ok(ok.ok, safeStringify(ok));
        assert.match(ok.correlationId, UUID);
        assert.equal(fixture.audit.at(-1)!.correlationId, ok.correlationId);
        // traceparent carries the UUID's hex as its trace id (TR-04).
        assert.ok(String(seen.at(-1)!.headers.traceparent).startsWith(`00-${ok.correlationId.replaceAll('-', '')}-`));

        const refused = await fixture.gateway.call('weather.nope', {}, { correlationId } as { correlationId: string });
        assert.ok(!refused.ok);
        assert.match(refused.error.correlationId, UUID);
        assert.notEqual(refused.error.correlationId, ok.correlationId, 'a fresh id per call');
        assert.equal(fixture.audit.at(-1)!.correlationId, refused.error.correlationId);
      });
    }

    it('generates distinct version-4 UUIDs across many pools, each with its own hex as trace id (TR-04)', () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5000; i++) {
        const { correlationId, traceId } = resolveCorrelation(undefined);
        assert.match(correlationId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.equal(traceId, correlationId.replaceAll('-', ''));
        ids.add(correlationId);
      }
      assert.equal(ids.size, 5000);
    });
  });

  describe('diagnostics channels (STYLE §11)', () => {
    it("publishes on 'gatehouse:call:end' the same events the sink receives", async () => {
      const channel = listen('gatehouse:call:end');
      try {
        const before = fixture.audit.length;
        await fixture.gateway.call('weather.getForecast', { city: 'Oslo' });
        await fixture.gateway.call('weather.nope', {});
        await fixture.gateway.call('weather.broken');
        await fixture.gateway.request('weather', { path: '/status' });
        assert.equal(channel.messages.length, 4);
        assert.deepEqual(channel.messages, fixture.audit.slice(before));
      } finally {
        channel.dispose();
      }
    });

    it("publishes policy refusals on 'gatehouse:policy:denied' (and nothing for allowed calls)", async () => {
      const denied = listen('gatehouse:policy:denied');
      try {
        await fixture.gateway.call('weather.getForecast', { city: 'Oslo' });
        const unknown = await fixture.gateway.call('weather.nope', {}, { correlationId: 'deny-1' });
        const caller = await fixture.gateway.call('weather.save', { body: {} }, { caller: 'renderer', correlationId: 'deny-2' });
        const path = await fixture.gateway.request('weather', { path: '/admin' }, { correlationId: 'deny-3' });
        assert.ok(!unknown.ok && !caller.ok && !path.ok);
        assert.deepEqual(denied.messages, [
          { operation: 'weather.nope', caller: 'main', reason: 'unknown_operation', correlationId: 'deny-1' },
          { operation: 'weather.save', caller: 'renderer', reason: 'caller_not_allowed', correlationId: 'deny-2' },
          { operation: 'weather', caller: 'main', reason: 'path_not_allowed', correlationId: 'deny-3' },
        ]);
      } finally {
        denied.dispose();
      }
    });
  });
});

describe('audit sinks: JSONL file and host function (FR-07, DESIGN §2 `audit`, §5 "Cancellation and shutdown")', () => {
  let server: TestServer;
  let dir: string;
  let caPem: string;
  const seen: { url: string; headers: IncomingMessage['headers'] }[] = [];
  let downPort: number;

  before(async () => {
    const pki = await makeTestPki();
    caPem = pki.caPem;
    server = await startHttpsServer(auditHandler(seen), await pki.issue(LOOPBACK_NAMES));
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-'));
    downPort = await closedPort();
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  function gatewayWith(audit: { file: string } | { sink: (event: AuditEvent) => void }): Promise<Gateway> {
    return createGateway({
      policy: auditPolicy(server.port, downPort),
      secrets: memorySecretStore({ 'weather-key': { key: 'QXZJ-sink-key-KVWY' } }),
      audit,
      network: { lookup: stubLookup({ 'api.test': ['127.0.0.1'], 'down.test': ['127.0.0.1'] }), ca: [caPem], proxy: 'none' },
    });
  }

  it('writes one JSON line per call to the file, readable after close(), file mode 0600, folder 0700', async () => {
    const file = join(dir, 'nested', 'audit.jsonl');
    const gateway = await gatewayWith({ file });
    const results = [
      await gateway.call('weather.getForecast', { city: 'Oslo' }),
      await gateway.call('weather.nope', {}),
      await gateway.call('weather.broken'),
      await gateway.call('down.ping'),
      await gateway.request('weather', { path: '/status' }),
    ];
    await gateway.close();
    const text = await readFile(file, 'utf8');
    assert.ok(text.endsWith('\n'), 'every line is terminated');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, results.length, text);
    const events = lines.map((line) => JSON.parse(line) as AuditEvent);
    events.forEach(assertEventShape);
    assert.deepEqual(
      events.map((e) => e.correlationId),
      results.map((r) => (r.ok ? r.correlationId : r.error.correlationId)),
    );
    assert.deepEqual(events.map((e) => e.outcome), ['ok', 'blocked_by_policy', 'server_error', 'connection_error', 'ok']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700);
  });

  it('writes 2,000 valid lines for 2,000 concurrent calls', async () => {
    const file = join(dir, 'concurrent.jsonl');
    const gateway = await gatewayWith({ file });
    // Every 20th call goes to the server (each concurrent call opens its own TLS connection, so
    // the network share stays small); the rest are refusals of several kinds, finishing in other ticks.
    const run = (i: number): Promise<CallResult> => {
      const correlationId = `cc-${i}`;
      if (i % 20 === 0) return gateway.call('weather.getForecast', { city: 'Oslo' }, { correlationId });
      if (i % 20 === 1) return gateway.call('weather.broken', {}, { correlationId });
      if (i % 4 === 0) return gateway.call('weather.nope', {}, { correlationId });
      if (i % 4 === 1) return gateway.call('weather.getForecast', { city: 7 }, { correlationId });
      if (i % 4 === 2) return gateway.call('weather.save', { body: {} }, { caller: 'renderer', correlationId });
      return gateway.request('weather', { path: '/admin' }, { correlationId });
    };
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => run(i)));
    assert.equal(results.filter((r) => r.ok).length, 100, safeStringify(results.find((r) => !r.ok && r.error.kind === 'timeout')));
    await gateway.close();
    const lines = (await readFile(file, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, 2000);
    const ids = new Set<string>();
    for (const line of lines) {
      const event = JSON.parse(line) as AuditEvent;
      assertEventShape(event);
      ids.add(event.correlationId);
    }
    assert.equal(ids.size, 2000, 'every call has its own line');
    for (let i = 0; i < 2000; i += 1) assert.ok(ids.has(`cc-${i}`), `no line for cc-${i}`);
  });

  it('appends to an existing audit file instead of truncating it', async () => {
    const file = join(dir, 'append.jsonl');
    for (let round = 0; round < 2; round += 1) {
      const gateway = await gatewayWith({ file });
      await gateway.call('weather.nope', {});
      await gateway.close();
    }
    assert.equal((await readFile(file, 'utf8')).trimEnd().split('\n').length, 2);
  });

  it('keeps calls working when a host `audit: { sink }` function throws', async () => {
    let thrown = 0;
    const gateway = await gatewayWith({
      sink: () => {
        thrown += 1;
        throw new Error('sink exploded');
      },
    });
    try {
      const ok = await gateway.call('weather.getForecast', { city: 'Oslo' });
      assert.ok(ok.ok, safeStringify(ok));
      const refused = await gateway.call('weather.nope', {});
      assert.ok(!refused.ok);
      assert.equal(refused.error.kind, 'blocked_by_policy');
      const upstream = await gateway.call('weather.broken');
      assert.ok(!upstream.ok);
      assert.equal(upstream.error.kind, 'server_error');
      assert.equal(thrown, 3, 'the sink was still called for each call');
    } finally {
      await gateway.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Redaction (SR-05, PR-01, PR-02, FR-07; STYLE §10): the key property.

/** Secrets and values come from an alphabet no event, envelope or message uses, so a substring hit is a leak. */
const LETTERS = [...'QXZJKVWY'];
const distinctive = fc.string({ unit: fc.constantFrom(...LETTERS), minLength: 8, maxLength: 24 });
const MODES = ['ok', 'text', 'e401', 'e403', 'e500', 'e404echo', 'redirect-home', 'redirect-loop', 'redirect-away'] as const;
type Mode = (typeof MODES)[number];
const FIXED_DATA = { fixed: 'body-ok' };

const sendParams = {
  type: 'object',
  properties: {
    mode: { enum: [...MODES] },
    id: { type: 'string' },
    q: { type: 'string' },
    tag: { type: 'string' },
    body: { type: 'object' },
  },
  required: ['mode', 'id', 'q', 'tag', 'body'],
  additionalProperties: false,
};

function redactionPolicy(port: number): object {
  const service = (credential: string) => ({
    baseUrl: `https://api.test:${port}/v1`,
    rationale: 'Redaction property test.',
    credential,
    privateRanges: LOOPBACK_RANGES,
    limits: { timeoutMs: 3000, retries: 0 },
    operations: {
      send: { method: 'POST', path: '/{mode}/items/{id}', params: sendParams, query: ['q'], headers: { 'X-Tag': 'tag' }, body: 'body' },
    },
    requests: [{ methods: ['GET', 'POST'], path: '/*/r/*' }],
  });
  return {
    version: 1,
    credentials: {
      'bearer-cred': { type: 'bearer' },
      'key-cred': { type: 'apiKey', header: 'X-Api-Key' },
      'basic-cred': { type: 'basic' },
    },
    services: { bearer: service('bearer-cred'), apikey: service('key-cred'), basic: service('basic-cred') },
  };
}

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * The first path segment after /v1 picks the behaviour. 2xx answers are fixed (so `data` holds
 * nothing of ours); error answers and redirects echo the request back, which Gatehouse must
 * never surface.
 */
function redactionHandler(received: Received[]) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const mode = (req.url ?? '').split('/')[2] as Mode;
      const echo = JSON.stringify({ url: req.url, headers: req.headers, body });
      const echoHeader = encodeURIComponent(req.url ?? '');
      switch (mode) {
        case 'ok':
          return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(FIXED_DATA));
        case 'text':
          return void res.writeHead(200, { 'content-type': 'text/plain' }).end('fixed text');
        case 'e401':
          return void res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer error="${echoHeader}"` }).end(echo);
        case 'e403':
          return void res.writeHead(403, { 'content-type': 'application/json', 'x-echo': echoHeader }).end(echo);
        case 'e500':
          return void res.writeHead(500, { 'content-type': 'application/json', 'x-echo': echoHeader }).end(echo);
        case 'e404echo':
          return void res.writeHead(404, { 'content-type': 'text/plain' }).end(echo);
        case 'redirect-home':
          return void res.writeHead(307, { location: '/v1/ok/items/fixed' }).end(echo);
        case 'redirect-loop':
          return void res.writeHead(302, { location: req.url ?? '/' }).end(echo);
        case 'redirect-away':
          return void res.writeHead(302, { location: `https://elsewhere.example${req.url ?? '/'}` }).end(echo);
        default:
          return void res.writeHead(418).end();
      }
    });
  };
}

/** What each mode ends as; `text` is fine for request() (`auto`), not for a JSON operation. */
const EXPECTED: Record<Mode, { ok: boolean; kind?: string }> = {
  ok: { ok: true },
  text: { ok: true },
  e401: { ok: false, kind: 'auth_required' },
  e403: { ok: false, kind: 'forbidden' },
  e500: { ok: false, kind: 'server_error' },
  e404echo: { ok: false, kind: 'not_found' },
  'redirect-home': { ok: true },
  'redirect-loop': { ok: false, kind: 'invalid_response' },
  'redirect-away': { ok: false, kind: 'blocked_by_policy' },
};

const credentialArb = fc.oneof(
  fc.record({ service: fc.constant('bearer'), name: fc.constant('bearer-cred'), token: distinctive }),
  fc.record({ service: fc.constant('apikey'), name: fc.constant('key-cred'), key: distinctive }),
  fc.record({ service: fc.constant('basic'), name: fc.constant('basic-cred'), username: distinctive, password: distinctive }),
);

describe('redaction (SR-05, PR-01, PR-02, FR-07; STYLE §10)', () => {
  let server: TestServer;
  let dir: string;
  let file: string;
  let gateway: Gateway;
  let secrets: SecretStore;
  const received: Received[] = [];
  const lookup = stubLookup({ 'api.test': ['127.0.0.1'] });
  const everyValue: string[] = [];
  let calls = 0;

  before(async () => {
    const pki = await makeTestPki();
    server = await startHttpsServer(redactionHandler(received), await pki.issue(LOOPBACK_NAMES));
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-redaction-'));
    file = join(dir, 'audit.jsonl');
    secrets = memorySecretStore();
    gateway = await createGateway({
      policy: redactionPolicy(server.port),
      secrets,
      audit: { file },
      network: { lookup, ca: [pki.caPem], proxy: 'none' },
    });
  });
  after(async () => {
    await gateway.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Fails when `text` (named `where`) contains any of `values`. */
  function assertFree(where: string, text: string, values: readonly string[]): void {
    for (const value of values) assert.ok(!text.includes(value), `${where} leaks ${JSON.stringify(value)}: ${text}`);
  }

  it('never puts a secret or a value in the audit file, the channels, the envelope or its inspect output', async () => {
    const events = listen('gatehouse:call:end');
    const denied = listen('gatehouse:policy:denied');
    try {
      await fc.assert(
        fc.asyncProperty(
          credentialArb,
          fc.constantFrom(...MODES),
          fc.record({ id: distinctive, q: distinctive, tag: distinctive, body: distinctive, nested: distinctive }),
          fc.record({ path: distinctive, query: distinctive, list: distinctive, header: distinctive, json: distinctive, idem: distinctive }),
          async (credential, mode, op, req) => {
            // The secret store is read at send time, so each run can bring its own credential.
            const { service, name, ...payload } = credential;
            await secrets.set(name, payload as never);
            const secretValues = Object.values(payload);
            if ('username' in payload) secretValues.push(Buffer.from(`${payload.username}:${payload.password}`).toString('base64'));
            const values = [...secretValues, ...Object.values(op), ...Object.values(req)];
            everyValue.push(...values);

            const eventsBefore = events.messages.length;
            const deniedBefore = denied.messages.length;
            const receivedBefore = received.length;
            const results = [
              await gateway.call(`${service}.send`, { mode, id: op.id, q: op.q, tag: op.tag, body: { note: op.body, nested: { deep: op.nested } } }),
              await gateway.request(service, {
                method: 'POST',
                path: `/${mode}/r/${req.path}`,
                query: { q: req.query, list: [req.list, 7] },
                headers: { 'X-Trace-Tag': req.header },
                json: { note: req.json },
                idempotencyKey: req.idem,
              }),
            ];
            calls += results.length;

            for (const [index, result] of results.entries()) {
              const shown = JSON.stringify(result);
              const expected = mode === 'text' && index === 0 ? { ok: false, kind: 'invalid_response' } : EXPECTED[mode];
              assert.equal(result.ok, expected.ok, shown);
              if (result.ok) {
                assert.deepEqual(result.data, mode === 'text' ? 'fixed text' : FIXED_DATA);
              } else {
                assert.equal(result.error.kind, expected.kind, shown);
                assertGenericMessage(result.error, values);
                assert.doesNotMatch(result.error.message, /elsewhere|api\.test|127\.0\.0\.1|localhost/i);
              }
              assertFree('the envelope', shown, values);
              assertFree('util.inspect of the envelope', inspect(result, { depth: Infinity, showHidden: true }), values);
            }

            const runEvents = events.messages.slice(eventsBefore);
            assert.equal(runEvents.length, 2, 'one call:end event per call');
            assertFree("'gatehouse:call:end' events", JSON.stringify(runEvents), values);
            assertFree("'gatehouse:policy:denied' events", JSON.stringify(denied.messages.slice(deniedBefore)), values);

            // The values and the credential did leave: the test would notice if nothing were sent.
            const runReceived = received.slice(receivedBefore);
            const firstHops = runReceived.filter((r) => !r.url.startsWith('/v1/ok/items/fixed'));
            assert.equal(firstHops.length, 2, safeStringify(runReceived));
            assert.ok(firstHops[0]!.url.includes(op.q) && firstHops[0]!.body.includes(op.body), 'call() params reached the server');
            assert.equal(firstHops[0]!.headers['x-tag'], op.tag);
            assert.ok(firstHops[1]!.url.includes(req.query) && firstHops[1]!.body.includes(req.json), 'request() values reached the server');
            assert.equal(firstHops[1]!.headers['x-trace-tag'], req.header);
            assert.equal(firstHops[1]!.headers['idempotency-key'], req.idem);
            for (const hit of runReceived) {
              if ('token' in payload) assert.equal(hit.headers.authorization, `Bearer ${payload.token}`);
              if ('key' in payload) assert.equal(hit.headers['x-api-key'], payload.key);
              if ('username' in payload) assert.equal(hit.headers.authorization, `Basic ${secretValues[2]}`);
            }
          },
        ),
        { numRuns: 100, seed: 20240611, endOnFailure: true, interruptAfterTimeLimit: 15_000 },
      );
    } finally {
      events.dispose();
      denied.dispose();
    }
    assert.ok(!lookup.calls.includes('elsewhere.example'), 'a refused redirect host was never resolved');

    // The audit file, complete after close(): one line per call and no value anywhere in it.
    await gateway.close();
    const text = await readFile(file, 'utf8');
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, calls);
    lines.forEach((line) => assertEventShape(JSON.parse(line) as AuditEvent));
    assertFree('the audit file', text, everyValue);
  });
});

describe('the audit file across close() (FR-07, DESIGN §5 "Audit timing")', () => {
  it('keeps lines in the order written: before, during and after close()', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-audit-order-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const sink = fileAuditSink(file);
      const event = (correlationId: string): AuditEvent =>
        ({ time: new Date().toISOString(), correlationId, caller: 'main', operation: 'o', service: 's', method: 'GET', pathTemplate: '/', host: 'h', outcome: 'ok', durationMs: 1, bytesIn: 0, bytesOut: 0, attempts: 1, redirects: 0 }) as AuditEvent;
      sink.write(event('before'));
      const closing = sink.close();
      sink.write(event('during'));
      await closing;
      sink.write(event('after'));
      const order = (await readFile(file, 'utf8')).trim().split('\n').map((line) => (JSON.parse(line) as AuditEvent).correlationId);
      assert.deepEqual(order, ['before', 'during', 'after']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
