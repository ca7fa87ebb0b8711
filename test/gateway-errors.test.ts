/**
 * Upstream statuses and network failures become stable error envelopes: exact kind, reason,
 * retryable, status and Retry-After, and a generic user message.
 * @see DESIGN.md §2 "Error envelope", §5 "Retryable"; FR-06, UXR-01, UXR-03
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { createGateway, type Gateway } from '../src/index.ts';
import { memorySecretStore } from '../src/auth/memory-store.ts';
import { LOOPBACK_NAMES, makeTestPki, type TestCertificate } from './support/certs.ts';
import { spyConnections } from './support/connect-spy.ts';
import { expectFailure, MessageBook, safeStringify } from './support/envelope-assert.ts';
import { LOOPBACK_RANGES } from './support/gateway-fixture.ts';
import { stubLookup } from './support/lookup.ts';
import { json, raw, routed, type RoutedHandler } from './support/routes.ts';
import { startHttpsServer, type LoopbackHost, type TestServer } from './support/servers.ts';

const PARAM_VALUE = 'param-VALUE-zz';
const HEADER_VALUE = 'hdr-VALUE-yy';
const KEY = 'k3y-very-secret-xx';

function policy(host: string, port: number, privateRanges: readonly string[] = LOOPBACK_RANGES): object {
  return {
    version: 1,
    credentials: { key: { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      svc: {
        baseUrl: `https://${host}:${port}/v1`,
        rationale: 'Error classification tests.',
        credential: 'key',
        privateRanges,
        limits: { timeoutMs: 3000, retries: 0 },
        operations: {
          get: {
            method: 'GET',
            path: '/s/{name}',
            params: {
              type: 'object',
              properties: { name: { type: 'string' }, q: { type: 'string' }, h: { type: 'string' } },
              required: ['name'],
              additionalProperties: false,
            },
            query: ['q'],
            headers: { 'X-Trace-Note': 'h' },
          },
          hang: {
            method: 'GET',
            path: '/s/{name}',
            params: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] },
            limits: { timeoutMs: 300 },
          },
        },
      },
    },
  };
}

/** A gateway on its own, for servers with special certificates or addresses. */
async function gatewayFor(
  host: string,
  port: number,
  options: { ca?: string[] | undefined; dns?: Record<string, readonly string[]>; privateRanges?: readonly string[] } = {},
): Promise<Gateway> {
  return createGateway({
    policy: policy(host, port, options.privateRanges),
    secrets: memorySecretStore({ key: { key: KEY } }),
    audit: false,
    network: { lookup: stubLookup(options.dns ?? { [host]: ['127.0.0.1'] }), ...(options.ca ? { ca: options.ca } : {}), proxy: 'none' },
  });
}

const book = new MessageBook();

describe('upstream statuses become error kinds (FR-06, UXR-01, DESIGN §2, §5 "Retryable")', () => {
  let server: TestServer;
  let caPem: string;
  let handler: RoutedHandler;
  let leaks: string[];
  const dateDeltaMs = 30_000;

  before(async () => {
    const pki = await makeTestPki();
    const plain = (status: number, headers: Record<string, string> = {}) =>
      json(status, { error: 'nope', detail: PARAM_VALUE }, headers);
    handler = routed({
      s400: plain(400),
      s409: plain(409),
      s422: plain(422),
      s401: plain(401, { 'www-authenticate': 'Bearer realm="x"' }),
      s403: plain(403),
      s404: plain(404),
      s418: plain(418),
      s429: plain(429, { 'retry-after': '7' }),
      's429-date': (req, res) => plain(429, { 'retry-after': new Date(Date.now() + dateDeltaMs).toUTCString() })(req, res),
      's429-none': plain(429),
      s500: plain(500),
      s501: plain(501),
      s502: plain(502),
      s503: plain(503, { 'retry-after': '2' }),
      s504: plain(504),
      s505: plain(505),
      s300: raw(300, '', { 'content-type': 'text/plain' }),
      s304: (_req, res: ServerResponse) => res.writeHead(304).end(),
      s302nolocation: raw(302, ''),
      ok: json(200, { fine: true }),
    });
    server = await startHttpsServer(handler, await pki.issue(LOOPBACK_NAMES));
    caPem = pki.caPem;
    leaks = ['api.test', String(server.port), '127.0.0.1', '/v1', '/s/', PARAM_VALUE, HEADER_VALUE, KEY, 'realm'];
  });

  after(() => server.close());

  // A fresh gateway per call: the service's circuit breaker (DESIGN §4.6) must not carry one
  // test's 5xx answers into the next test's classification.
  const call = async (name: string) => {
    const gateway = await gatewayFor('api.test', server.port, { ca: [caPem] });
    try {
      return await gateway.call('svc.get', { name, q: PARAM_VALUE, h: HEADER_VALUE });
    } finally {
      await gateway.close();
    }
  };

  it('the fixture answers 200 (control)', async () => {
    const result = await call('ok');
    assert.equal(result.ok, true, safeStringify(result));
  });

  for (const status of [400, 409, 422, 418]) {
    it(`maps ${status} to client_error, not retryable, with status ${status}`, async () => {
      expectFailure(await call(`s${status}`), { kind: 'client_error', reason: 'upstream_status', retryable: false, status }, { leaks, book });
    });
  }

  it('maps 401 to auth_required/unauthorized', async () => {
    expectFailure(await call('s401'), { kind: 'auth_required', reason: 'unauthorized', retryable: false, status: 401 }, { leaks, book });
  });

  it('maps 403 to forbidden', async () => {
    expectFailure(await call('s403'), { kind: 'forbidden', retryable: false, status: 403 }, { leaks, book });
  });

  it('maps 404 to not_found', async () => {
    expectFailure(await call('s404'), { kind: 'not_found', retryable: false, status: 404 }, { leaks, book });
  });

  it('maps 429 with Retry-After: 7 to rate_limited, retryable, retryAfterMs 7000', async () => {
    expectFailure(await call('s429'), { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 7000 }, { leaks, book });
  });

  it('maps Retry-After as an HTTP date to retryAfterMs of about the delta', async () => {
    // HTTP dates have whole seconds: the delta is in (delta - 1 s, delta], less time in flight.
    const error = expectFailure(
      await call('s429-date'),
      { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: [dateDeltaMs - 2000, dateDeltaMs] },
      { leaks, book },
    );
    assert.ok(error.retryAfterMs! > 0);
  });

  it('leaves retryAfterMs unset for 429 without Retry-After', async () => {
    const error = expectFailure(await call('s429-none'), { kind: 'rate_limited', retryable: true, status: 429 }, { leaks, book });
    assert.equal(error.retryAfterMs, undefined);
  });

  for (const status of [500, 501, 505]) {
    it(`maps ${status} to server_error, not retryable`, async () => {
      expectFailure(await call(`s${status}`), { kind: 'server_error', retryable: false, status }, { leaks, book });
    });
  }

  for (const status of [502, 503, 504]) {
    it(`maps ${status} to service_unavailable, retryable`, async () => {
      expectFailure(await call(`s${status}`), { kind: 'service_unavailable', retryable: true, status }, { leaks, book });
    });
  }

  it('sets retryAfterMs from Retry-After on a 503', async () => {
    expectFailure(await call('s503'), { kind: 'service_unavailable', retryable: true, status: 503, retryAfterMs: 2000 }, { leaks, book });
  });

  it('maps 304 (not asked for) to invalid_response/unexpected_status with status 304', async () => {
    expectFailure(await call('s304'), { kind: 'invalid_response', reason: 'unexpected_status', retryable: false, status: 304 }, { leaks, book });
  });

  it('maps 300 without Location to invalid_response/unexpected_status with status 300', async () => {
    expectFailure(await call('s300'), { kind: 'invalid_response', reason: 'unexpected_status', retryable: false, status: 300 }, { leaks, book });
  });

  it('refuses a 302 without Location as blocked_by_policy/redirect_blocked', async () => {
    expectFailure(await call('s302nolocation'), { kind: 'blocked_by_policy', reason: 'redirect_blocked', retryable: false }, { leaks, book });
  });

  it('sends each status call once (no hidden retries with retries: 0)', () => {
    assert.equal(handler.hits.get('s503'), 2);
    assert.equal(handler.hits.get('s429'), 1);
  });
});

describe('network failures become error kinds (FR-06, DESIGN §2, §4.1)', () => {
  const closers: (() => Promise<void>)[] = [];
  let pki: Awaited<ReturnType<typeof makeTestPki>>;

  /** Starts a server with `cert` and a gateway for `host` (resolved to the server's address). */
  async function setup(
    cert: TestCertificate,
    options: { host?: string; listen?: LoopbackHost; trustCa?: boolean; handler?: RoutedHandler; privateRanges?: readonly string[] } = {},
  ): Promise<{ server: TestServer; gateway: Gateway; handler: RoutedHandler; leaks: string[] }> {
    const host = options.host ?? 'api.test';
    const listen = options.listen ?? '127.0.0.1';
    const handler = options.handler ?? routed({ ok: json(200, { fine: true }) });
    const server = await startHttpsServer(handler, { ...cert, host: listen });
    const gateway = await gatewayFor(host, server.port, {
      ca: options.trustCa === false ? undefined : [pki.caPem],
      dns: { [host]: [listen] },
      ...(options.privateRanges ? { privateRanges: options.privateRanges } : {}),
    });
    closers.push(async () => {
      await gateway.close();
      await server.close();
    });
    return { server, gateway, handler, leaks: [host, String(server.port), listen, '/v1', '/s/', PARAM_VALUE, KEY] };
  }

  before(async () => {
    pki = await makeTestPki();
  });

  after(async () => {
    for (const close of closers) await close();
  });

  describe('TLS (tls_error)', () => {
    it('refuses a certificate from an untrusted CA as tls_error/cert_untrusted, sending nothing', async () => {
      const { gateway, handler, leaks } = await setup(await pki.issue(['api.test'], { untrusted: true }));
      const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
      expectFailure(result, { kind: 'tls_error', reason: 'cert_untrusted', retryable: false }, { leaks, book });
      assert.equal(handler.requests.length, 0);
    });

    it('refuses an expired certificate as tls_error/cert_expired', async () => {
      const { gateway, handler, leaks } = await setup(await pki.issue(['api.test'], { expired: true }));
      const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
      expectFailure(result, { kind: 'tls_error', reason: 'cert_expired', retryable: false }, { leaks, book });
      assert.equal(handler.requests.length, 0);
    });

    it('refuses a certificate for another host as tls_error/cert_hostname_mismatch', async () => {
      const { gateway, handler, leaks } = await setup(await pki.issue(['other.test']));
      const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
      expectFailure(result, { kind: 'tls_error', reason: 'cert_hostname_mismatch', retryable: false }, { leaks: [...leaks, 'other.test'], book });
      assert.equal(handler.requests.length, 0);
    });

    it('refuses the test CA when the gateway was not given it (tls_error)', async () => {
      const { gateway, handler, leaks } = await setup(await pki.issue(LOOPBACK_NAMES), { trustCa: false });
      const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
      expectFailure(result, { kind: 'tls_error', reason: 'cert_untrusted', retryable: false }, { leaks, book });
      assert.equal(handler.requests.length, 0);
    });
  });

  describe('connections (connection_error, timeout, dns_error)', () => {
    it('maps a refused connection to connection_error/connection_refused, retryable', async () => {
      const cert = await pki.issue(LOOPBACK_NAMES);
      const dead = await startHttpsServer(routed({}), cert);
      const port = dead.port;
      await dead.close();
      const gateway = await gatewayFor('api.test', port, { ca: [pki.caPem] });
      closers.push(() => gateway.close());
      const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
      expectFailure(result, { kind: 'connection_error', reason: 'connection_refused', retryable: true }, {
        leaks: ['api.test', String(port), '127.0.0.1', PARAM_VALUE, KEY],
        book,
      });
    });

    describe('a server that misbehaves mid-exchange', () => {
      let env: Awaited<ReturnType<typeof setup>>;
      /** One call through a fresh gateway, so the circuit breaker starts closed each time. */
      const callFresh = async (operation: string, params: object) => {
        const gateway = await gatewayFor('api.test', env.server.port, { ca: [pki.caPem] });
        try {
          return await gateway.call(operation, params);
        } finally {
          await gateway.close();
        }
      };
      before(async () => {
        const handler = routed({
          'reset-before-headers': (req) => req.socket.destroy(),
          'reset-after-headers': (req, res) => {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
            res.flushHeaders();
            setTimeout(() => req.socket.destroy(), 20);
          },
          'reset-in-body': (req, res) => {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
            res.write('{"partial": "body');
            setTimeout(() => req.socket.destroy(), 20);
          },
          'reset-chunked-body': (req, res) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.write('{"partial": "body');
            setTimeout(() => req.socket.destroy(), 20);
          },
          hang: () => {},
          ok: json(200, { fine: true }),
        });
        env = await setup(await pki.issue(LOOPBACK_NAMES), { handler });
      });

      for (const name of ['reset-before-headers', 'reset-after-headers', 'reset-in-body', 'reset-chunked-body']) {
        it(`maps a socket destroyed by the server (${name}) to connection_error, retryable`, async () => {
          const result = await callFresh('svc.get', { name, q: PARAM_VALUE });
          expectFailure(result, { kind: 'connection_error', reason: ['closed_early', 'connection_reset'], retryable: true }, { leaks: env.leaks, book });
        });
      }

      it('ends a call to a server that never answers as timeout within ~300 ms, retryable', async () => {
        const started = performance.now();
        const result = await callFresh('svc.hang', { name: 'hang' });
        const elapsed = performance.now() - started;
        expectFailure(result, { kind: 'timeout', reason: ['headers_timeout', 'deadline'], retryable: true }, { leaks: env.leaks, book });
        assert.ok(elapsed >= 250 && elapsed < 900, `took ${elapsed} ms for timeoutMs 300`);
      });

      it('answers normally on the same server (control)', async () => {
        const result = await callFresh('svc.get', { name: 'ok' });
        assert.equal(result.ok, true, safeStringify(result));
      });
    });

    it('maps a name that does not resolve to dns_error/not_resolved, dialing nothing', async () => {
      const gateway = await gatewayFor('nowhere.test', 443, { dns: {} });
      closers.push(() => gateway.close());
      const spy = spyConnections();
      try {
        const result = await gateway.call('svc.get', { name: 'ok', q: PARAM_VALUE });
        expectFailure(result, { kind: 'dns_error', reason: 'not_resolved', retryable: false }, { leaks: ['nowhere.test', PARAM_VALUE], book });
        assert.equal(spy.count, 0);
      } finally {
        spy.dispose();
      }
    });

    it('reaches a server on ::1 when the service lists ::1/128 (IPv6 loopback)', async () => {
      const { gateway, handler } = await setup(await pki.issue(['api6.test']), {
        host: 'api6.test',
        listen: '::1',
        privateRanges: ['::1/128'],
      });
      const result = await gateway.call('svc.get', { name: 'ok' });
      assert.equal(result.ok, true, safeStringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.data, { fine: true });
      assert.equal(handler.hits.get('ok'), 1);
    });
  });
});

describe('error messages (UXR-01, UXR-03)', () => {
  it('gives the same generic text for every error of the same kind', () => {
    assert.ok(book.size >= 10, `kinds seen: ${book.size}`);
    assert.deepEqual(book.inconsistent(), {});
  });
});
