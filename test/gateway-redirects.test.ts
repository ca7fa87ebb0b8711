// Redirects are followed by Gatehouse itself, each hop checked like a first request
// (DESIGN.md §4.2, §5 "Hosts and ports", "Reasons for refused hops").
// LOOPBACK ONLY: every server here listens on 127.0.0.1; refused hops name private addresses only
// as IP literals or through the stub lookup, and each refusal asserts that nothing was dialed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CallResult, GatewayError } from '../src/index.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { spyConnections, type ConnectSpy } from './support/connect-spy.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { startHttpServer, startHttpsServer, type TestServer } from './support/servers.ts';

const SECRET = 'redirect-api-key-secret';

/** One request a test server received. */
interface Seen {
  server: 'home' | 'cdn' | 'http';
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A redirect answer: status and Location (undefined: no Location header at all). */
type Hop = readonly [status: number, location: string | undefined];

function failed(result: CallResult): GatewayError {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  assert.ok(!result.ok);
  return result.error;
}

function succeeded(result: CallResult): { status: number; data: Record<string, unknown> } {
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.ok(result.ok);
  return { status: result.status, data: result.data as Record<string, unknown> };
}

/** Collects a request body, records the request, then answers with a redirect or JSON. */
function recordingHandler(name: Seen['server'], seen: Seen[], routes: () => ReadonlyMap<string, Hop>) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = req.url ?? '';
      seen.push({ server: name, method: req.method ?? '', url, headers: req.headers, body });
      const hop = routes().get(url);
      if (hop !== undefined) {
        const [status, location] = hop;
        if (location !== undefined) res.setHeader('location', location);
        res.statusCode = status;
        res.end('redirecting');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ server: name, method: req.method, url, body }));
    });
  };
}

describe('gateway redirects (FR-04, SR-03, DESIGN §4.2, §5 "Reasons for refused hops")', () => {
  let fixture: GatewayFixture;
  let cdn: TestServer;
  let plain: TestServer;
  const seen: Seen[] = [];
  const homeRoutes = new Map<string, Hop>();
  const cdnRoutes = new Map<string, Hop>();
  let home = '';
  let cdnOrigin = '';

  /** Requests seen since `mark`. */
  const since = (mark: number): Seen[] => seen.slice(mark);

  /** Calls `route` (one path segment) with a connect spy around the call. */
  async function go(route: string, operation = 'svc.go'): Promise<{ result: CallResult; spy: ConnectSpy; requests: Seen[] }> {
    const mark = seen.length;
    const spy = spyConnections();
    try {
      const result = await fixture.gateway.call(operation, { route });
      return { result, spy, requests: since(mark) };
    } finally {
      spy.dispose();
    }
  }

  /** Every TCP connect the call started went to the home server (the first hop), none elsewhere. */
  function assertDialedOnlyHome(spy: ConnectSpy): void {
    for (const attempt of spy.attempts) {
      assert.deepEqual({ address: attempt.address, port: attempt.port }, { address: '127.0.0.1', port: fixture.server.port }, 'dialed a refused hop');
    }
  }

  /** A refused hop: kind and reason, not retryable, only the first hop reached, nothing else dialed. */
  function assertHopRefused(
    outcome: { result: CallResult; spy: ConnectSpy; requests: Seen[] },
    kind: string,
    reasons: readonly string[],
    cdnConnectionsBefore: number,
  ): GatewayError {
    const error = failed(outcome.result);
    assert.equal(error.kind, kind, JSON.stringify(error));
    assert.ok(reasons.includes(error.reason ?? ''), JSON.stringify(error));
    assert.equal(error.retryable, false);
    assertDialedOnlyHome(outcome.spy);
    assert.equal(cdn.connections, cdnConnectionsBefore, 'the second server was not contacted');
    assert.equal(plain.connections, 0, 'the plain http server was never contacted');
    assert.ok(outcome.requests.every((request) => request.server === 'home'), JSON.stringify(outcome.requests.map((r) => r.url)));
    const event = fixture.audit.at(-1)!;
    assert.equal(event.outcome, error.kind);
    assert.equal(event.reason, error.reason);
    return error;
  }

  before(async () => {
    const pki = await makeTestPki();
    cdn = await startHttpsServer(
      recordingHandler('cdn', seen, () => cdnRoutes),
      await pki.issue(['cdn.test', 'evil.test', 'inner.test', ...LOOPBACK_NAMES]),
    );
    plain = await startHttpServer(recordingHandler('http', seen, () => new Map()));
    fixture = await startGatewayFixture({
      policy: (port) => ({
        version: 1,
        defaults: { maxRedirects: 2 },
        credentials: { 'svc-key': { type: 'apiKey', header: 'X-Api-Key' } },
        services: {
          svc: {
            baseUrl: `https://api.test:${port}/v1`,
            rationale: 'Redirect tests.',
            credential: 'svc-key',
            hosts: [`cdn.test:${cdn.port}`, `inner.test:${cdn.port}`, `10.0.0.1:${cdn.port}`, '169.254.169.254:443'],
            privateRanges: LOOPBACK_RANGES,
            operations: {
              go: {
                method: 'GET',
                path: '/{route}',
                params: { type: 'object', properties: { route: { type: 'string' } }, required: ['route'] },
              },
              goNoRedirects: {
                method: 'GET',
                path: '/{route}',
                params: { type: 'object', properties: { route: { type: 'string' } }, required: ['route'] },
                limits: { maxRedirects: 0 },
              },
              goManyRedirects: {
                method: 'GET',
                path: '/{route}',
                params: { type: 'object', properties: { route: { type: 'string' } }, required: ['route'] },
                limits: { maxRedirects: 10 },
              },
              post: {
                method: 'POST',
                path: '/{route}',
                params: { type: 'object', properties: { route: { type: 'string' }, body: { type: 'object' } }, required: ['route', 'body'] },
                body: 'body',
              },
            },
          },
        },
      }),
      secrets: { 'svc-key': { key: SECRET } },
      dns: { 'cdn.test': ['127.0.0.1'], 'evil.test': ['127.0.0.1'], 'inner.test': ['10.0.0.1'] },
      handler: recordingHandler('home', seen, () => homeRoutes),
    });
    home = `https://api.test:${fixture.server.port}`;
    cdnOrigin = `https://cdn.test:${cdn.port}`;

    homeRoutes.set('/v1/same', [302, '/v1/ok']);
    homeRoutes.set('/v1/to-cdn', [302, `${cdnOrigin}/landing`]);
    homeRoutes.set('/v1/bounce', [302, `${cdnOrigin}/back-home`]);
    cdnRoutes.set('/back-home', [302, `${home}/v1/home-again`]);
    homeRoutes.set('/v1/to-evil', [302, `https://evil.test:${cdn.port}/steal`]);
    homeRoutes.set('/v1/to-evil-scheme-relative', [302, `//evil.test:${cdn.port}/steal`]);
    homeRoutes.set('/v1/to-evil-backslash', [302, `/\\evil.test:${cdn.port}/steal`]);
    homeRoutes.set('/v1/to-home-host-other-port', [302, `https://api.test:${cdn.port}/steal`]);
    homeRoutes.set('/v1/to-http-loopback', [302, `http://127.0.0.1:${plain.port}/x`]);
    homeRoutes.set('/v1/to-http-home', [302, `http://api.test:${fixture.server.port}/v1/ok`]);
    homeRoutes.set('/v1/userinfo', [302, `https://user:pass@api.test:${fixture.server.port}/v1/ok`]);
    homeRoutes.set('/v1/userinfo-cdn', [302, `https://user@cdn.test:${cdn.port}/landing`]);
    homeRoutes.set('/v1/malformed-bracket', [302, 'https://[::1']);
    homeRoutes.set('/v1/malformed-port', [302, 'https://api.test:99999/v1/ok']);
    homeRoutes.set('/v1/no-location', [302, undefined]);
    homeRoutes.set('/v1/empty-location', [302, '']);
    homeRoutes.set('/v1/to-literal-10', [302, `https://10.0.0.1:${cdn.port}/x`]);
    homeRoutes.set('/v1/to-metadata', [302, 'https://169.254.169.254/latest/meta-data/']);
    homeRoutes.set('/v1/to-unlisted-private', [302, 'https://192.168.1.1/admin']);
    homeRoutes.set('/v1/to-inner', [302, `https://inner.test:${cdn.port}/x`]);
    homeRoutes.set('/v1/loop', [302, `${cdnOrigin}/loop`]);
    cdnRoutes.set('/loop', [302, `${home}/v1/loop`]);
    homeRoutes.set('/v1/chain-3', [302, '/v1/chain-2']);
    homeRoutes.set('/v1/chain-2', [302, '/v1/chain-1']);
    homeRoutes.set('/v1/chain-1', [302, '/v1/chain-0']);
    homeRoutes.set('/v1/see-other', [303, '/v1/echo']);
    homeRoutes.set('/v1/temporary', [307, '/v1/echo']);
    homeRoutes.set('/v1/permanent', [308, '/v1/echo']);
    homeRoutes.set('/v1/to-home-dotted', [302, `https://API.Test.:${fixture.server.port}/v1/ok`]);
  });
  after(async () => {
    await fixture?.close();
    await cdn?.close();
    await plain?.close();
  });

  describe('followed hops and credentials (FR-04, SR-06, DESIGN §4.2)', () => {
    it('follows a same-origin redirect and sends the credential on both hops', async () => {
      const { result, requests } = await go('same');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'GET', url: '/v1/ok', body: '' });
      assert.deepEqual(
        requests.map((r) => [r.server, r.url, r.headers['x-api-key']]),
        [
          ['home', '/v1/same', SECRET],
          ['home', '/v1/ok', SECRET],
        ],
      );
      const event = fixture.audit.at(-1)!;
      assert.equal(event.outcome, 'ok');
      assert.equal(event.redirects, 1);
      assert.equal(event.status, 200);
    });

    it('follows a redirect to a host listed in hosts without sending the credential there', async () => {
      const { result, requests } = await go('to-cdn');
      assert.deepEqual(succeeded(result).data, { server: 'cdn', method: 'GET', url: '/landing', body: '' });
      assert.deepEqual(
        requests.map((r) => [r.server, r.url]),
        [
          ['home', '/v1/to-cdn'],
          ['cdn', '/landing'],
        ],
      );
      assert.equal(requests[0]!.headers['x-api-key'], SECRET);
      const atCdn = requests[1]!;
      assert.equal(atCdn.headers['x-api-key'], undefined);
      assert.equal(atCdn.headers.host, `cdn.test:${cdn.port}`);
      assert.ok(!JSON.stringify(atCdn.headers).includes(SECRET));
      assert.equal(fixture.audit.at(-1)!.redirects, 1);
    });

    it('sends no credential to the home origin after a cross-origin hop', async () => {
      const { result, requests } = await go('bounce');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'GET', url: '/v1/home-again', body: '' });
      assert.deepEqual(
        requests.map((r) => [r.server, r.url, r.headers['x-api-key']]),
        [
          ['home', '/v1/bounce', SECRET],
          ['cdn', '/back-home', undefined],
          ['home', '/v1/home-again', undefined],
        ],
      );
      assert.equal(fixture.audit.at(-1)!.redirects, 2);
    });

    it('follows a redirect to the home host written in capitals with a trailing dot (DESIGN §5 "Hosts and ports")', async () => {
      // §5: names are matched after WHATWG normalisation, case-insensitive, trailing dot removed.
      const { result, requests } = await go('to-home-dotted');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'GET', url: '/v1/ok', body: '' });
      assert.equal(requests.length, 2);
    });
  });

  describe('refused hops: redirect_blocked (SR-03, DESIGN §5 "Reasons for refused hops")', () => {
    it('refuses a redirect to a host not in the policy without connecting to it', async () => {
      for (const route of ['to-evil', 'to-evil-scheme-relative', 'to-evil-backslash']) {
        const cdnBefore = cdn.connections;
        const lookupsBefore = fixture.lookupCalls.length;
        const outcome = await go(route);
        assertHopRefused(outcome, 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
        assert.deepEqual(fixture.lookupCalls.slice(lookupsBefore).filter((name) => name !== 'api.test'), [], `${route}: resolved the refused host`);
      }
    });

    it('refuses a redirect to the home host on a port the policy does not list', async () => {
      const cdnBefore = cdn.connections;
      assertHopRefused(await go('to-home-host-other-port'), 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
    });

    it('refuses a redirect from https to http, even to loopback', async () => {
      for (const route of ['to-http-loopback', 'to-http-home']) {
        const cdnBefore = cdn.connections;
        const outcome = await go(route);
        assertHopRefused(outcome, 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
        assert.equal(outcome.requests.length, 1, route);
      }
    });

    it('refuses a redirect Location that carries userinfo', async () => {
      for (const route of ['userinfo', 'userinfo-cdn']) {
        const cdnBefore = cdn.connections;
        const outcome = await go(route);
        assertHopRefused(outcome, 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
        assert.equal(outcome.requests.length, 1, route);
      }
    });

    it('refuses a malformed redirect Location', async () => {
      for (const route of ['malformed-bracket', 'malformed-port']) {
        const cdnBefore = cdn.connections;
        const outcome = await go(route);
        assertHopRefused(outcome, 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
        assert.equal(outcome.requests.length, 1, route);
      }
    });

    it('refuses a 3xx answer without a Location (or with an empty one) as redirect_blocked', async () => {
      for (const route of ['no-location', 'empty-location']) {
        const cdnBefore = cdn.connections;
        const outcome = await go(route);
        const error = assertHopRefused(outcome, 'blocked_by_policy', ['redirect_blocked'], cdnBefore);
        assert.equal(outcome.requests.length, 1, route);
        assert.ok(!error.message.includes('api.test'));
      }
    });
  });

  describe('refused hops: private_address (FR-04, SR-03, DESIGN §4.1, §4.2)', () => {
    it('refuses a redirect to the IP literal 10.0.0.1 (listed in hosts) as private_address before dialing', async () => {
      const cdnBefore = cdn.connections;
      const lookupsBefore = fixture.lookupCalls.length;
      const outcome = await go('to-literal-10');
      assertHopRefused(outcome, 'blocked_by_policy', ['private_address'], cdnBefore);
      assert.deepEqual(fixture.lookupCalls.slice(lookupsBefore).filter((name) => name !== 'api.test'), []);
    });

    it('refuses a redirect to the metadata literal 169.254.169.254 (listed in hosts) as private_address before dialing', async () => {
      const cdnBefore = cdn.connections;
      const outcome = await go('to-metadata');
      const error = assertHopRefused(outcome, 'blocked_by_policy', ['private_address'], cdnBefore);
      assert.ok(!error.message.includes('169.254'));
    });

    it('refuses a redirect to an unlisted private IP literal without dialing it', async () => {
      const cdnBefore = cdn.connections;
      // Both outside the service and a refused address: either reason is a correct refusal.
      assertHopRefused(await go('to-unlisted-private'), 'blocked_by_policy', ['redirect_blocked', 'private_address'], cdnBefore);
    });

    it('refuses a redirect to a listed name that resolves to 10.0.0.1 as private_address before dialing', async () => {
      const cdnBefore = cdn.connections;
      const lookupsBefore = fixture.lookupCalls.length;
      const outcome = await go('to-inner');
      assertHopRefused(outcome, 'blocked_by_policy', ['private_address'], cdnBefore);
      assert.ok(fixture.lookupCalls.slice(lookupsBefore).includes('inner.test'), 'the listed name was resolved and its answer refused');
      assert.ok(outcome.spy.attempts.every((attempt) => attempt.address !== '10.0.0.1'));
    });
  });

  describe('redirect limits (FR-04, DESIGN §5 "Reasons for refused hops")', () => {
    it('ends a redirect loop A -> B -> A as too_many_redirects without repeating it', async () => {
      const { result, requests } = await go('loop', 'svc.goManyRedirects');
      const error = failed(result);
      assert.equal(error.kind, 'invalid_response', JSON.stringify(error));
      assert.equal(error.reason, 'too_many_redirects');
      assert.equal(error.retryable, false);
      assert.deepEqual(
        requests.map((r) => [r.server, r.url]),
        [
          ['home', '/v1/loop'],
          ['cdn', '/loop'],
        ],
      );
      assert.equal(fixture.audit.at(-1)!.reason, 'too_many_redirects');
    });

    it('follows a chain of exactly maxRedirects hops', async () => {
      const { result, requests } = await go('chain-2');
      assert.equal(succeeded(result).data.url, '/v1/chain-0');
      assert.equal(requests.length, 3);
      assert.equal(fixture.audit.at(-1)!.redirects, 2);
    });

    it('refuses a chain longer than maxRedirects as too_many_redirects without requesting past the limit', async () => {
      const { result, requests } = await go('chain-3');
      const error = failed(result);
      assert.equal(error.kind, 'invalid_response', JSON.stringify(error));
      assert.equal(error.reason, 'too_many_redirects');
      assert.deepEqual(
        requests.map((r) => r.url),
        ['/v1/chain-3', '/v1/chain-2', '/v1/chain-1'],
      );
    });

    it('with maxRedirects 0 refuses the first redirect and never requests its target', async () => {
      const { result, requests } = await go('same', 'svc.goNoRedirects');
      const error = failed(result);
      assert.equal(error.kind, 'invalid_response', JSON.stringify(error));
      assert.equal(error.reason, 'too_many_redirects');
      assert.deepEqual(
        requests.map((r) => r.url),
        ['/v1/same'],
      );
    });
  });

  describe('methods and bodies across hops (FR-04, RFC 9110 §15.4)', () => {
    async function post(route: string): Promise<{ result: CallResult; requests: Seen[] }> {
      const mark = seen.length;
      const result = await fixture.gateway.call('svc.post', { route, body: { city: 'Oslo' } });
      return { result, requests: since(mark) };
    }

    it('turns a POST into a body-less GET after 303 See Other', async () => {
      const { result, requests } = await post('see-other');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'GET', url: '/v1/echo', body: '' });
      assert.equal(requests.length, 2);
      const [first, second] = requests as [Seen, Seen];
      assert.equal(first.method, 'POST');
      assert.equal(first.body, '{"city":"Oslo"}');
      assert.equal(second.method, 'GET');
      assert.equal(second.body, '');
      assert.equal(second.headers['content-type'], undefined);
      assert.ok(second.headers['content-length'] === undefined || second.headers['content-length'] === '0');
      assert.equal(second.headers['x-api-key'], SECRET, 'same origin: the credential is still sent');
    });

    it('keeps the method and body after 307 Temporary Redirect', async () => {
      const { result, requests } = await post('temporary');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'POST', url: '/v1/echo', body: '{"city":"Oslo"}' });
      const second = requests[1]!;
      assert.equal(second.method, 'POST');
      assert.equal(second.headers['content-type'], 'application/json');
    });

    it('keeps the method and body after 308 Permanent Redirect', async () => {
      const { result } = await post('permanent');
      assert.deepEqual(succeeded(result).data, { server: 'home', method: 'POST', url: '/v1/echo', body: '{"city":"Oslo"}' });
    });
  });
});
