/**
 * Hostile 2xx responses: size caps on the wire and after decompression, safe JSON, content types,
 * response schemas, reflected secrets, odd bodies and bodies that never end.
 * @see DESIGN.md §4.4, §5 "Bodies"; FR-05, SR-04, UXR-01
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, createBrotliCompress, createGzip, brotliCompressSync, deflateSync, deflateRawSync, gzipSync } from 'node:zlib';
import type { Transform } from 'node:stream';
import { REASONS, type Reason } from '../src/index.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { expectFailure, MessageBook, safeStringify } from './support/envelope-assert.ts';
import { json, raw, routed, within } from './support/routes.ts';

const CAP = 64 * 1024;
const BOMB_CAP = 1024 * 1024;
const BOMB_BYTES = 200 * 1024 * 1024;

const TOKEN = 'tok-AAAA-reflect-me';
const API_KEY = 'key-BBBB-reflect-me';
const PASSWORD = 'pw-CCCC-reflect-me';
/** Latin-1 beyond ASCII: headers carry it as single bytes, which UTF-8 decoding of a body would not show. */
const LATIN1_KEY = 'kéy-DDDD-reflect-me';
/** An apiKey a URL would have to percent-encode. */
const URL_KEY = 'key+EEEE/reflect=me';

/** Compresses `total` zero bytes through `stream`, a MiB at a time, without holding them all. */
async function compressZeros(stream: Transform, total: number): Promise<Buffer> {
  const zeros = Buffer.alloc(1024 * 1024);
  const out: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => out.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    stream.once('end', resolve);
    stream.once('error', reject);
  });
  for (let written = 0; written < total; written += zeros.length) {
    if (!stream.write(zeros)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
  await ended;
  return Buffer.concat(out);
}

const getOp = (extra: object = {}) => ({
  method: 'GET',
  path: '/r/{name}',
  params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false },
  ...extra,
});

function policy(port: number): object {
  const base = `https://api.test:${port}/v1`;
  const limits = { maxResponseBytes: CAP, maxJsonDepth: 16, timeoutMs: 3000, retries: 0 };
  const credentialed = (credential: string) => ({
    baseUrl: base,
    rationale: 'Reflected-secret tests.',
    credential,
    privateRanges: LOOPBACK_RANGES,
    limits,
    operations: { get: getOp(), text: getOp({ responseType: 'text' }) },
  });
  return {
    version: 1,
    credentials: {
      'bearer-cred': { type: 'bearer' },
      'key-cred': { type: 'apiKey', header: 'X-Api-Key' },
      'latin1-cred': { type: 'apiKey', header: 'X-Api-Key' },
      'url-cred': { type: 'apiKey', header: 'X-Api-Key' },
      'basic-cred': { type: 'basic' },
    },
    services: {
      resp: {
        baseUrl: base,
        rationale: 'Hostile response tests.',
        privateRanges: LOOPBACK_RANGES,
        limits,
        operations: {
          get: getOp(),
          text: getOp({ responseType: 'text' }),
          bomb: getOp({ limits: { maxResponseBytes: BOMB_CAP } }),
          validated: getOp({
            response: { type: 'object', required: ['id'], properties: { id: { type: 'integer' } } },
          }),
          slow: getOp({ limits: { timeoutMs: 300 } }),
        },
      },
      bearer: credentialed('bearer-cred'),
      keyed: credentialed('key-cred'),
      latin1: credentialed('latin1-cred'),
      urlKeyed: credentialed('url-cred'),
      basic: credentialed('basic-cred'),
    },
  };
}

/** What the server saw of a body it streamed without end. */
interface StreamWatch {
  written: number;
  finished: boolean;
  closed: Promise<void>;
}

describe('hostile responses (FR-05, SR-04, DESIGN §4.4, §5 "Bodies")', () => {
  let fixture: GatewayFixture;
  let leaks: string[];
  const book = new MessageBook();
  let gzipBomb: Buffer;
  let brotliBomb: Buffer;
  let stream: StreamWatch | undefined;
  /** Settles when the server sees the connection of the last unread error answer close. */
  let errorClosed: Promise<void> | undefined;
  const trickles = new Set<NodeJS.Timeout>();

  const streamForever = (_req: IncomingMessage, res: ServerResponse): void => {
    let closeSeen!: () => void;
    const watch: StreamWatch = { written: 0, finished: false, closed: new Promise((resolve) => (closeSeen = resolve)) };
    stream = watch;
    res.socket?.once('close', () => closeSeen());
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(16 * 1024, 0x20);
    const limit = 64 * 1024 * 1024;
    const pump = (): void => {
      while (watch.written < limit && !res.destroyed) {
        watch.written += chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) {
        watch.finished = true;
        res.end();
      }
    };
    pump();
  };

  before(async () => {
    [gzipBomb, brotliBomb] = await Promise.all([
      compressZeros(createGzip({ level: 9 }), BOMB_BYTES),
      compressZeros(createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }), BOMB_BYTES),
    ]);
    const payload = JSON.stringify({ hello: 'world', list: [1, 2, 3] });
    fixture = await startGatewayFixture({
      policy,
      secrets: {
        'bearer-cred': { token: TOKEN },
        'key-cred': { key: API_KEY },
        'latin1-cred': { key: LATIN1_KEY },
        'url-cred': { key: URL_KEY },
        'basic-cred': { username: 'alice', password: PASSWORD },
      },
      handler: routed({
        'declared-too-large': (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(CAP + 1) });
          res.end(Buffer.alloc(CAP + 1, 0x20));
        },
        'stream-forever': streamForever,
        'gzip-bomb': raw(200, gzipBomb, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
        'brotli-bomb': raw(200, brotliBomb, { 'content-type': 'application/json', 'content-encoding': 'br' }),
        gzip: raw(200, gzipSync(payload), { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
        deflate: raw(200, deflateSync(payload), { 'content-type': 'application/json', 'content-encoding': 'deflate' }),
        'deflate-raw': raw(200, deflateRawSync(payload), { 'content-type': 'application/json', 'content-encoding': 'deflate' }),
        br: raw(200, brotliCompressSync(payload), { 'content-type': 'application/json', 'content-encoding': 'br' }),
        malformed: raw(200, '{"a": [1, 2,', { 'content-type': 'application/json' }),
        deep17: raw(200, '['.repeat(17) + ']'.repeat(17), { 'content-type': 'application/json' }),
        deep16: raw(200, '['.repeat(16) + ']'.repeat(16), { 'content-type': 'application/json' }),
        'deep-million': raw(200, '['.repeat(60_000), { 'content-type': 'application/json' }),
        proto: raw(
          200,
          '{"__proto__":{"polluted":"yes"},"nested":{"__proto__":{"polluted":"yes"}},"constructor":{"prototype":{"polluted":"yes"}},"ok":1}',
          { 'content-type': 'application/json' },
        ),
        html: raw(200, '<html><body>{"a":1}</body></html>', { 'content-type': 'text/html; charset=utf-8' }),
        'no-type': raw(200, '{"a":1}', {}),
        problem: raw(200, '{"type":"about:blank","title":"fine"}', { 'content-type': 'application/problem+json' }),
        'json-charset': raw(200, '{"a":1}', { 'content-type': 'Application/JSON; charset=utf-8' }),
        'id-ok': json(200, { id: 7 }),
        'id-wrong': json(200, { id: 'seven' }),
        'id-missing': json(200, { name: 'x' }),
        'echo-auth': (req, res) => json(200, { seen: req.headers.authorization ?? null })(req, res),
        'echo-key': (req, res) => json(200, { seen: req.headers['x-api-key'] ?? null })(req, res),
        // The header's own bytes, as a server that copies them into its answer would send them.
        'echo-key-bytes': (req, res) => raw(200, Buffer.concat([Buffer.from('{"seen":"'), Buffer.from(String(req.headers['x-api-key']), 'latin1'), Buffer.from('"}')]), { 'content-type': 'application/json' })(req, res),
        'echo-password': json(200, { seen: PASSWORD }),
        'echo-token-text': raw(200, `token=${TOKEN}`, { 'content-type': 'text/plain' }),
        'echo-token-escaped': raw(200, `{"seen":"${[...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`, {
          'content-type': 'application/json',
        }),
        // The same JSON, labelled as text: a caller of a text operation could still parse it.
        'echo-token-escaped-text': raw(200, `{"seen":"${[...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`, {
          'content-type': 'text/plain',
        }),
        'echo-token-js': raw(200, `<script>var t = "${[...TOKEN].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}";</script>`, {
          'content-type': 'text/html',
        }),
        'echo-key-url': raw(200, `{"next":"https://elsewhere.test/cb?k=${encodeURIComponent(URL_KEY)}"}`, { 'content-type': 'application/json' }),
        'echo-key-url-lower': raw(200, `{"next":"https://elsewhere.test/cb?k=${encodeURIComponent(URL_KEY).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())}"}`, {
          'content-type': 'application/json',
        }),
        'echo-token-gzip': raw(200, gzipSync(JSON.stringify({ seen: TOKEN })), {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        }),
        'no-content': (_req, res) => res.writeHead(204).end(),
        'empty-200': raw(200, '', { 'content-type': 'application/json' }),
        plain: raw(200, 'hello, text', { 'content-type': 'text/plain; charset=utf-8' }),
        'big-header': (_req, res) => {
          res.setHeader('x-big', 'a'.repeat(100_000));
          json(200, { a: 1 })(_req, res);
        },
        'error-small': json(500, { error: 'short' }),
        'error-large': (req, res) => {
          errorClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
          raw(500, Buffer.alloc(256 * 1024, 0x20), { 'content-type': 'application/json' })(req, res);
        },
        'error-stalls': (req, res) => {
          errorClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
          res.writeHead(500, { 'content-type': 'application/json', 'content-length': '1000' });
          res.write('{"error":'); // and nothing more
        },
        'error-streams': (req, res) => {
          errorClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
          res.writeHead(503, { 'content-type': 'application/json' });
          const chunk = Buffer.alloc(16 * 1024, 0x20);
          const pump = (): void => {
            while (!res.destroyed && res.write(chunk));
            if (!res.destroyed) res.once('drain', pump);
          };
          pump();
        },
        trickle: (_req, res) => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('[');
          const timer = setInterval(() => res.write(' '), 40);
          trickles.add(timer);
          res.once('close', () => {
            clearInterval(timer);
            trickles.delete(timer);
          });
        },
      }),
    });
    leaks = ['api.test', String(fixture.server.port), '127.0.0.1', '/v1', '/r/', TOKEN, API_KEY, PASSWORD, LATIN1_KEY, URL_KEY, 'alice'];
  });

  after(async () => {
    for (const timer of trickles) clearInterval(timer);
    await fixture.close();
  });

  const call = (operation: string, name: string) => fixture.gateway.call(operation, { name });

  describe('size caps (too_large)', () => {
    it('refuses a Content-Length over maxResponseBytes as invalid_response/too_large', async () => {
      const result = await call('resp.get', 'declared-too-large');
      expectFailure(result, { kind: 'invalid_response', reason: 'too_large', retryable: false }, { leaks, book });
    });

    it('stops reading a chunked body that streams past the cap and closes the connection', async () => {
      stream = undefined;
      const started = performance.now();
      const result = await call('resp.get', 'stream-forever');
      expectFailure(result, { kind: 'invalid_response', reason: 'too_large', retryable: false }, { leaks, book });
      assert.ok(performance.now() - started < 2000, 'refused promptly');
      // Set by the route while the call ran (TypeScript cannot see that).
      const watch = stream as StreamWatch | undefined;
      assert.ok(watch !== undefined, 'server saw the request');
      await within(2000, watch.closed, 'server sees the connection closed');
      assert.equal(watch.finished, false, 'the gateway did not read the whole body');
      assert.ok(watch.written < 32 * 1024 * 1024, `server wrote ${watch.written} bytes before the close`);
      const event = fixture.audit.at(-1)!;
      assert.equal(event.status, 200, 'the audit keeps the status of a refused body');
      assert.ok(event.bytesIn > CAP, `the audit counts the bytes read before the refusal: ${event.bytesIn}`);
    });
  });

  describe('decompression (decompression_limit, content codings)', () => {
    it('refuses a 200 MiB gzip bomb as invalid_response/decompression_limit, fast', async () => {
      const started = performance.now();
      const result = await fixture.gateway.call('resp.bomb', { name: 'gzip-bomb' });
      const elapsed = performance.now() - started;
      expectFailure(result, { kind: 'invalid_response', reason: 'decompression_limit', retryable: false }, { leaks, book });
      assert.ok(elapsed < 1500, `took ${elapsed} ms`);
    });

    it('refuses a 200 MiB brotli bomb as invalid_response/decompression_limit, fast', async () => {
      const started = performance.now();
      const result = await fixture.gateway.call('resp.bomb', { name: 'brotli-bomb' });
      const elapsed = performance.now() - started;
      expectFailure(result, { kind: 'invalid_response', reason: 'decompression_limit', retryable: false }, { leaks, book });
      assert.ok(elapsed < 1500, `took ${elapsed} ms`);
    });

    for (const coding of ['gzip', 'deflate', 'deflate-raw', 'br']) {
      it(`decodes a normal ${coding} body`, async () => {
        const result = await call('resp.get', coding);
        assert.equal(result.ok, true, safeStringify(result));
        assert.ok(result.ok);
        assert.deepEqual(result.data, { hello: 'world', list: [1, 2, 3] });
      });
    }
  });

  describe('safe JSON (malformed_json, too_deep, prototype pollution)', () => {
    it('refuses malformed JSON as invalid_response/malformed_json', async () => {
      expectFailure(await call('resp.get', 'malformed'), { kind: 'invalid_response', reason: 'malformed_json', retryable: false }, { leaks, book });
    });

    it('refuses nesting deeper than limits.maxJsonDepth as invalid_response/too_deep', async () => {
      expectFailure(await call('resp.get', 'deep17'), { kind: 'invalid_response', reason: 'too_deep', retryable: false }, { leaks, book });
    });

    it('accepts nesting exactly at limits.maxJsonDepth', async () => {
      const result = await call('resp.get', 'deep16');
      assert.equal(result.ok, true, safeStringify(result));
    });

    it('refuses a very deep body without a stack overflow', async () => {
      expectFailure(await call('resp.get', 'deep-million'), { kind: 'invalid_response', reason: 'too_deep', retryable: false }, { leaks, book });
    });

    it('removes __proto__ and constructor.prototype keys and leaves Object.prototype untouched', async () => {
      const result = await call('resp.get', 'proto');
      assert.equal(result.ok, true, safeStringify(result));
      assert.ok(result.ok);
      const data = result.data as Record<string, unknown>;
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
      assert.equal(Object.hasOwn(data, '__proto__'), false);
      assert.equal(Object.getPrototypeOf(data), Object.prototype);
      assert.equal(data.polluted, undefined);
      assert.equal((data.nested as Record<string, unknown>).polluted, undefined);
      assert.equal(Object.hasOwn(data.nested as object, '__proto__'), false);
      assert.equal(Object.hasOwn(data, 'constructor'), false);
      assert.equal(data.ok, 1);
    });
  });

  describe('content types (unexpected_content_type)', () => {
    it('refuses text/html for a JSON operation as invalid_response/unexpected_content_type', async () => {
      expectFailure(await call('resp.get', 'html'), { kind: 'invalid_response', reason: 'unexpected_content_type', retryable: false }, { leaks, book });
    });

    it('refuses a JSON-looking body without a content type for a JSON operation', async () => {
      expectFailure(await call('resp.get', 'no-type'), { kind: 'invalid_response', reason: 'unexpected_content_type', retryable: false }, { leaks, book });
    });

    it('accepts application/problem+json', async () => {
      const result = await call('resp.get', 'problem');
      assert.equal(result.ok, true, safeStringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.data, { type: 'about:blank', title: 'fine' });
    });

    it('accepts application/json case-insensitively with parameters', async () => {
      const result = await call('resp.get', 'json-charset');
      assert.equal(result.ok, true, safeStringify(result));
    });
  });

  describe('response schema (schema_mismatch)', () => {
    it('returns data that matches the response schema', async () => {
      const result = await call('resp.validated', 'id-ok');
      assert.equal(result.ok, true, safeStringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.data, { id: 7 });
    });

    it('refuses a wrongly typed field as invalid_response/schema_mismatch', async () => {
      expectFailure(await call('resp.validated', 'id-wrong'), { kind: 'invalid_response', reason: 'schema_mismatch', retryable: false }, { leaks: [...leaks, 'seven'], book });
    });

    it('refuses a missing required field as invalid_response/schema_mismatch', async () => {
      expectFailure(await call('resp.validated', 'id-missing'), { kind: 'invalid_response', reason: 'schema_mismatch', retryable: false }, { leaks, book });
    });
  });

  describe('reflected secrets (secret_reflected, DESIGN §5 "Bodies")', () => {
    const cases: [string, string, string][] = [
      ['bearer token echoed back', 'bearer.get|echo-auth', TOKEN],
      ['apiKey echoed back', 'keyed.get|echo-key', API_KEY],
      ['Latin-1 apiKey echoed back as its header bytes', 'latin1.get|echo-key-bytes', LATIN1_KEY],
      ['basic password echoed back', 'basic.get|echo-password', PASSWORD],
      ['basic Authorization value echoed back', 'basic.get|echo-auth', Buffer.from(`alice:${PASSWORD}`).toString('base64')],
      ['bearer token in a text body', 'bearer.get|echo-token-text', TOKEN],
      ['bearer token inside a gzip body', 'bearer.get|echo-token-gzip', TOKEN],
      ['bearer token behind JSON \\u escapes in a text answer', 'bearer.text|echo-token-escaped-text', TOKEN],
      ['bearer token behind JavaScript \\x escapes in HTML', 'bearer.text|echo-token-js', TOKEN],
      ['apiKey percent-encoded in a URL', 'urlKeyed.get|echo-key-url', URL_KEY],
      ['apiKey percent-encoded with lower-case hex', 'urlKeyed.get|echo-key-url-lower', URL_KEY],
    ];
    for (const [title, target, secret] of cases) {
      it(`refuses a ${title} as invalid_response/secret_reflected, secret nowhere in the result`, async () => {
        const [operation, name] = target.split('|') as [string, string];
        const result = await call(operation, name);
        expectFailure(result, { kind: 'invalid_response', reason: 'secret_reflected', retryable: false }, { leaks: [...leaks, secret], book });
        assert.ok(!safeStringify(result).includes(secret));
        assert.ok(!safeStringify(result).includes(TOKEN) && !safeStringify(result).includes(PASSWORD) && !safeStringify(result).includes(API_KEY));
      });
    }

    it('refuses a bearer token echoed with JSON \\u escapes (the parsed data would hold it)', async () => {
      const result = await call('bearer.get', 'echo-token-escaped');
      assert.ok(!safeStringify(result).includes(TOKEN), `secret reached the caller: ${safeStringify(result)}`);
      expectFailure(result, { kind: 'invalid_response', reason: 'secret_reflected', retryable: false }, { leaks, book });
    });

    it('audits a reflected secret without the secret', () => {
      const events = fixture.audit.filter((event) => event.reason === 'secret_reflected');
      assert.ok(events.length > 0);
      for (const event of events) {
        const text = JSON.stringify(event);
        for (const secret of [TOKEN, API_KEY, PASSWORD]) assert.ok(!text.includes(secret));
      }
    });
  });

  describe('empty, text and odd answers', () => {
    it('returns ok with data null for 204 No Content', async () => {
      const result = await call('resp.get', 'no-content');
      assert.deepEqual(result.ok && { status: result.status, data: result.data }, { status: 204, data: null }, safeStringify(result));
    });

    it('returns ok with data null for an empty 200 JSON body', async () => {
      const result = await call('resp.get', 'empty-200');
      assert.deepEqual(result.ok && { status: result.status, data: result.data }, { status: 200, data: null }, safeStringify(result));
    });

    it("returns a string for responseType 'text'", async () => {
      const result = await call('resp.text', 'plain');
      assert.equal(result.ok, true, safeStringify(result));
      assert.ok(result.ok);
      assert.equal(result.data, 'hello, text');
    });

    it('classifies a 100 KB response header as invalid_response without crashing', async () => {
      const result = await call('resp.get', 'big-header');
      const error = expectFailure(result, { kind: 'invalid_response', retryable: false }, { leaks, book });
      assert.equal(REASONS[error.reason as Reason], 'invalid_response', `reason ${String(error.reason)}`);
      // The gateway still works afterwards.
      const next = await call('resp.get', 'id-ok');
      assert.equal(next.ok, true, safeStringify(next));
    });

    it('drains a short unread error body and reuses its connection; closes one past 64 KiB', async () => {
      const connections = fixture.server.connections;
      for (let i = 0; i < 10; i++) expectFailure(await call('resp.get', 'error-small'), { kind: 'server_error', reason: 'upstream_status', retryable: false }, { leaks, book });
      // The call settles before undici frees the connection, so the next may take a second one.
      assert.ok(fixture.server.connections - connections <= 2, `10 calls opened ${fixture.server.connections - connections} connections`);
      errorClosed = undefined;
      expectFailure(await call('resp.get', 'error-large'), { kind: 'server_error', reason: 'upstream_status', retryable: false }, { leaks, book });
      assert.ok(errorClosed !== undefined, 'server saw the request');
      await within(2000, errorClosed, 'the connection of a 256 KiB unread body is closed');
    });

    it('answers an error status at once and closes a connection whose unread body stalls or never ends', async () => {
      const answers = [
        ['error-stalls', 'server_error', false],
        ['error-streams', 'service_unavailable', true],
      ] as const;
      for (const [name, kind, retryable] of answers) {
        errorClosed = undefined;
        const started = performance.now();
        const result = await call('resp.get', name);
        expectFailure(result, { kind, reason: 'upstream_status', retryable }, { leaks, book });
        assert.ok(performance.now() - started < 500, `${name}: the status is not held back by its body`);
        assert.ok(errorClosed !== undefined, 'server saw the request');
        await within(2500, errorClosed, `${name}: the connection is closed, not held for the body`);
      }
    });

    it('ends a body that trickles forever as timeout within the deadline', async () => {
      const started = performance.now();
      const result = await call('resp.slow', 'trickle');
      const elapsed = performance.now() - started;
      expectFailure(result, { kind: 'timeout', reason: ['deadline', 'body_timeout'], retryable: true }, { leaks, book });
      assert.ok(elapsed >= 250 && elapsed < 1000, `took ${elapsed} ms for a 300 ms deadline`);
    });
  });

  it('gives one generic message per error kind (UXR-01)', () => {
    assert.ok(book.size >= 2);
    assert.deepEqual(book.inconsistent(), {});
  });
});

describe('reflected secrets that JSON must escape (DESIGN §5 "Bodies")', () => {
  const TOKEN_WITH_QUOTES = 'tok"en\\with-quote-and-backslash';
  const PASSWORD_WITH_QUOTES = 'hunter2"quoted\\pw';
  let fixture: GatewayFixture;

  before(async () => {
    fixture = await startGatewayFixture({
      policy: (port) => ({
        version: 1,
        defaults: { retries: 0 },
        credentials: { token: { type: 'bearer' }, login: { type: 'basic' } },
        services: {
          bearer: { baseUrl: `https://api.test:${port}`, rationale: 'Echo tests.', credential: 'token', privateRanges: LOOPBACK_RANGES, operations: { echo: { method: 'GET', path: '/headers' } } },
          basic: { baseUrl: `https://api.test:${port}`, rationale: 'Echo tests.', credential: 'login', privateRanges: LOOPBACK_RANGES, operations: { echo: { method: 'GET', path: '/headers' } } },
        },
      }),
      secrets: { token: { token: TOKEN_WITH_QUOTES }, login: { username: 'alice', password: PASSWORD_WITH_QUOTES } },
      // An httpbin-style echo: the header goes back inside a JSON string, escaped.
      handler: (req, res) => {
        const header = String(req.headers.authorization ?? '');
        const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : header;
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ youSent: decoded }));
      },
    });
  });
  after(() => fixture.close());

  for (const [operation, secret] of [['bearer.echo', TOKEN_WITH_QUOTES], ['basic.echo', PASSWORD_WITH_QUOTES]] as const) {
    it(`refuses ${operation} echoing a secret with " and \\ inside a JSON string`, async () => {
      const result = await fixture.gateway.call(operation, {}, { caller: 'main' });
      assert.equal(result.ok, false, 'the echoed secret reached the caller');
      assert.ok(!result.ok && result.error.reason === 'secret_reflected', JSON.stringify(result).replaceAll(secret, '[secret]'));
    });
  }
});

describe('answers that are not well-formed HTTP/1.1 (FR-05, RFC 9112)', () => {
  const BODY = '{"a":1}';
  const JSON_TYPE = 'content-type: application/json\r\n';
  const cases: [string, string][] = [
    ['a garbage status line', `HTTP/1.1 2OO OK\r\n${JSON_TYPE}content-length: 7\r\n\r\n${BODY}`],
    ['no status line at all (HTTP/0.9)', BODY],
    ['a status below 100', `HTTP/1.1 099 Odd\r\ncontent-length: 0\r\n\r\n`],
    ['a 101 without Upgrade', `HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\n\r\n`],
    ['an unasked-for 100 Continue before the answer', `HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: 7\r\n\r\n${BODY}`],
    ['a chunk size that is not hex', `HTTP/1.1 200 OK\r\n${JSON_TYPE}transfer-encoding: chunked\r\n\r\nzz\r\n${BODY}\r\n0\r\n\r\n`],
    ['a negative Content-Length', `HTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: -1\r\n\r\n${BODY}`],
    ['two different Content-Lengths', `HTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: 7\r\ncontent-length: 9\r\n\r\n${BODY}xx`],
    ['the same Content-Length twice', `HTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: 7\r\ncontent-length: 7\r\n\r\n${BODY}`],
    ['a listed Content-Length', `HTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: 7, 7\r\n\r\n${BODY}`],
    ['Content-Length beside chunked Transfer-Encoding', `HTTP/1.1 200 OK\r\n${JSON_TYPE}content-length: 3\r\ntransfer-encoding: chunked\r\n\r\n7\r\n${BODY}\r\n0\r\n\r\n`],
    ['a NUL in a header value', `HTTP/1.1 200 OK\r\n${JSON_TYPE}x-odd: a\u0000b\r\ncontent-length: 7\r\n\r\n${BODY}`],
    ['a folded header line', `HTTP/1.1 200 OK\r\n${JSON_TYPE}x-odd: a\r\n  b\r\ncontent-length: 7\r\n\r\n${BODY}`],
  ];
  let fixture: GatewayFixture;
  let answer = '';
  before(async () => {
    fixture = await startGatewayFixture({
      policy: (port) => ({
        version: 1,
        services: {
          up: { baseUrl: `https://api.test:${port}`, rationale: 'Test.', privateRanges: LOOPBACK_RANGES, limits: { retries: 2 }, operations: { get: { method: 'GET', path: '/x' } } },
        },
      }),
      handler: (_req, res) => void res.socket!.end(answer),
    });
  });
  after(() => fixture.close());

  for (const [name, text] of cases) {
    it(`refuses ${name} as invalid_response/malformed_response, not retried`, async () => {
      answer = text;
      const result = await fixture.gateway.call('up.get');
      assert.equal(!result.ok && `${result.error.kind}/${result.error.reason}/${result.error.retryable}`, 'invalid_response/malformed_response/false', safeStringify(result));
      assert.equal(result.attempts, 1);
    });
  }
});

describe('an unasked-for protocol switch (FR-05)', () => {
  it('classifies a 101 Switching Protocols answer as invalid_response/malformed_response, not retryable', async () => {
    const fixture = await startGatewayFixture({
      policy: (port) => ({
        version: 1,
        services: { up: { baseUrl: `https://api.test:${port}`, rationale: 'Test.', privateRanges: LOOPBACK_RANGES, operations: { get: { method: 'GET', path: '/x' } } } },
      }),
      handler: (_req, res) => {
        res.socket!.end('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x\r\n\r\n');
      },
    });
    try {
      const result = await fixture.gateway.call('up.get');
      assert.equal(!result.ok && `${result.error.kind}/${result.error.reason}/${result.error.retryable}`, 'invalid_response/malformed_response/false');
    } finally {
      await fixture.close();
    }
  });
});
