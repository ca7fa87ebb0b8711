import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxy } from 'proxy';
import { createGateway, type Gateway } from '../src/index.ts';
import { memorySecretStore } from '../src/auth/memory-store.ts';
import { bypassesProxy, resolveProxyConfig } from '../src/net/proxy-config.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { spyConnections } from './support/connect-spy.ts';
import { LOOPBACK_RANGES } from './support/gateway-fixture.ts';
import { stubLookup } from './support/lookup.ts';
import { startHttpsServer, type TestServer } from './support/servers.ts';

/** A real forward proxy on loopback that records the CONNECT targets it was asked for. */
async function startProxy(authenticate?: (header: string | undefined) => boolean): Promise<{ url: string; targets: string[]; close(): Promise<void> }> {
  const server = createProxy(createServer());
  if (authenticate) server.authenticate = (req) => authenticate(req.headers['proxy-authorization']);
  const targets: string[] = [];
  server.prependListener('connect', (req) => targets.push(req.url ?? ''));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    targets,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function policy(port: number): object {
  return {
    version: 1,
    services: {
      api: {
        baseUrl: `https://api.test:${port}`,
        rationale: 'Proxy tests.',
        privateRanges: LOOPBACK_RANGES,
        operations: { ping: { method: 'GET', path: '/ping' } },
      },
      intranet: {
        baseUrl: 'https://intranet.test',
        rationale: 'Resolves to a private address; must never be tunnelled to.',
        operations: { ping: { method: 'GET', path: '/ping' } },
      },
    },
  };
}

describe('forward proxy (FR-10, BR-04)', () => {
  let upstream: TestServer;
  let caPem: string;
  const lookup = stubLookup({ 'api.test': ['127.0.0.1'], 'intranet.test': ['10.0.0.7'] });

  async function gatewayVia(proxyUrl: string): Promise<Gateway> {
    return createGateway({
      policy: policy(upstream.port),
      secrets: memorySecretStore(),
      audit: false,
      network: { lookup, ca: [caPem], proxy: { url: proxyUrl } },
    });
  }

  before(async () => {
    const pki = await makeTestPki();
    caPem = pki.caPem;
    upstream = await startHttpsServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"pong":true}');
    }, await pki.issue(LOOPBACK_NAMES));
  });
  after(() => upstream.close());

  it('tunnels to the address Gatehouse resolved and checked, not to the name', async () => {
    const proxy = await startProxy();
    const gateway = await gatewayVia(proxy.url);
    try {
      const result = await gateway.call('api.ping');
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.deepEqual(proxy.targets, [`127.0.0.1:${upstream.port}`]);
    } finally {
      await gateway.close();
      await proxy.close();
    }
  });

  it('refuses a private address before asking the proxy for anything', async () => {
    const proxy = await startProxy();
    const gateway = await gatewayVia(proxy.url);
    const spy = spyConnections();
    try {
      const result = await gateway.call('intranet.ping');
      assert.equal(result.ok, false);
      assert.equal(result.error.kind, 'blocked_by_policy');
      assert.equal(result.error.reason, 'private_address');
      assert.deepEqual(proxy.targets, []);
      assert.equal(spy.count, 0);
    } finally {
      spy.dispose();
      await gateway.close();
      await proxy.close();
    }
  });

  it('reports a proxy that wants authentication as proxy_error/proxy_auth_required', async () => {
    const proxy = await startProxy(() => false);
    const gateway = await gatewayVia(proxy.url);
    try {
      const result = await gateway.call('api.ping');
      assert.equal(result.ok, false);
      assert.equal(result.error.kind, 'proxy_error');
      assert.equal(result.error.reason, 'proxy_auth_required');
      assert.equal(result.error.retryable, false);
    } finally {
      await gateway.close();
      await proxy.close();
    }
  });

  it('sends proxy credentials from the proxy URL, and never in the error', async () => {
    const expected = `Basic ${Buffer.from('gate:pr0xy-pass').toString('base64')}`;
    const proxy = await startProxy((header) => header === expected);
    const gateway = await gatewayVia(proxy.url.replace('http://', 'http://gate:pr0xy-pass@'));
    try {
      const result = await gateway.call('api.ping');
      assert.equal(result.ok, true, JSON.stringify(result));
    } finally {
      await gateway.close();
      await proxy.close();
    }
  });

  it('reports an unreachable proxy as proxy_error/proxy_unreachable', async () => {
    const proxy = await startProxy();
    await proxy.close();
    const gateway = await gatewayVia(proxy.url);
    try {
      const result = await gateway.call('api.ping');
      assert.equal(result.ok, false);
      assert.equal(result.error.kind, 'proxy_error');
      assert.equal(result.error.reason, 'proxy_unreachable');
    } finally {
      await gateway.close();
    }
  });

  it('recovers after a name lookup that never answers: one deadline covers lookup, CONNECT and TLS', async () => {
    const proxy = await startProxy();
    let queries = 0;
    // The first query is never answered; later ones resolve normally.
    const hangsOnce = ((hostname: string, options: unknown, callback: (...args: unknown[]) => void) => {
      queries += 1;
      if (queries === 1) return;
      (lookup as unknown as (h: string, o: unknown, cb: unknown) => void)(hostname, options, callback);
    }) as unknown as typeof lookup;
    const gateway = await createGateway({
      policy: { ...(policy(upstream.port) as object), defaults: { timeoutMs: 1500, connectTimeoutMs: 300, retries: 0 } },
      secrets: memorySecretStore(),
      audit: false,
      network: { lookup: hangsOnce, ca: [caPem], proxy: { url: proxy.url } },
    });
    try {
      const first = await gateway.call('api.ping');
      assert.equal(!first.ok && first.error.kind, 'timeout', JSON.stringify(first));
      const second = await gateway.call('api.ping');
      assert.equal(second.ok, true, JSON.stringify(second));
    } finally {
      await gateway.close();
      await proxy.close();
    }
  });

  it('reports a refused CONNECT as proxy_error/proxy_refused', async () => {
    const refusing = createServer();
    refusing.on('connect', (_req, socket) => socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const gateway = await gatewayVia(`http://127.0.0.1:${(refusing.address() as AddressInfo).port}`);
    try {
      const result = await gateway.call('api.ping');
      assert.equal(result.ok, false);
      assert.equal(result.error.kind, 'proxy_error');
      assert.equal(result.error.reason, 'proxy_refused');
    } finally {
      await gateway.close();
      await closeServer(refusing);
    }
  });
});

describe('proxy settings from the environment (FR-10)', () => {
  it('takes HTTPS_PROXY and NO_PROXY', () => {
    const config = resolveProxyConfig('env', { HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'internal.corp, .svc, api.test:8443' });
    assert.equal(config?.url.href, 'http://proxy.corp:3128/');
    assert.equal(bypassesProxy(config!, 'a.internal.corp', 443), true);
    assert.equal(bypassesProxy(config!, 'internal.corp', 443), true);
    assert.equal(bypassesProxy(config!, 'x.svc', 443), true);
    assert.equal(bypassesProxy(config!, 'api.test', 8443), true);
    assert.equal(bypassesProxy(config!, 'api.test', 443), false);
    assert.equal(bypassesProxy(config!, 'notinternal.corp', 443), false);
  });

  it('reads NO_PROXY entries as curl does: *.domain, [IPv6]:port, *, any case, a trailing dot', () => {
    const config = resolveProxyConfig('env', { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '*.Wild.Corp [::1]:8443 svc ::2 dotted.test.' })!;
    assert.equal(bypassesProxy(config, '::2', 443), true, 'a bare IPv6 address is a host, not host:port');
    assert.equal(bypassesProxy(config, 'dotted.test', 443), true, "an entry's trailing dot");
    assert.equal(bypassesProxy(config, 'wild.corp', 443), true);
    assert.equal(bypassesProxy(config, 'A.WILD.CORP.', 443), true);
    assert.equal(bypassesProxy(config, 'unwild.corp', 443), false);
    assert.equal(bypassesProxy(config, '[::1]', 8443), true);
    assert.equal(bypassesProxy(config, '::1', 443), false);
    assert.equal(bypassesProxy(config, 'x.svc', 443), true);
    const all = resolveProxyConfig('env', { HTTPS_PROXY: 'proxy.corp:3128', NO_PROXY: '*' })!;
    assert.equal(bypassesProxy(all, 'anything.example', 443), true);
  });

  it('builds Proxy-Authorization once, from a password with a bare % too (it crashed the tunnel)', () => {
    const decoded = (url: string): string => {
      const header = resolveProxyConfig({ url })!.authorization!;
      return Buffer.from(header.replace(/^Basic /, ''), 'base64').toString();
    };
    assert.equal(decoded('http://alice:50%off@127.0.0.1:3128'), 'alice:50%off');
    assert.equal(decoded('http://alice:pa%ZZss@127.0.0.1:3128'), 'alice:pa%ZZss');
    assert.equal(decoded('http://al%40ce:p%20w%C3%A9@127.0.0.1:3128'), 'al@ce:p wé');
    assert.equal(resolveProxyConfig({ url: 'http://127.0.0.1:3128' })!.authorization, undefined);
  });

  it('uses no proxy when none is configured or when told none', () => {
    assert.equal(resolveProxyConfig('env', {}), undefined);
    assert.equal(resolveProxyConfig('none', { HTTPS_PROXY: 'http://proxy:1' }), undefined);
  });

  it('bypasses everything for NO_PROXY=*', () => {
    const config = resolveProxyConfig('env', { https_proxy: 'proxy:3128', no_proxy: '*' });
    assert.equal(bypassesProxy(config!, 'anything.example', 443), true);
  });

  it('refuses a proxy URL that is not http://', () => {
    assert.throws(() => resolveProxyConfig({ url: 'socks5://proxy:1080' }), /only http/);
  });
});
