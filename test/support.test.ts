// Tests of the test support itself: the PKI really verifies (and really fails), servers count and
// close, and the connect spy really counts a connection. Loopback only.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Agent, request } from 'undici';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import type { TestPki } from './support/certs.ts';
import { spyConnections } from './support/connect-spy.ts';
import { startHttpServer, startHttpsServer } from './support/servers.ts';
import type { TestServer } from './support/servers.ts';

/** Opens a TLS connection and reports whether it verified, or the error code. */
function handshake(port: number, host: string, servername: string | undefined, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ port, host, servername, ca, ALPNProtocols: ['http/1.1'] }, () => {
      resolve(socket.authorized ? 'authorized' : String(socket.authorizationError));
      socket.destroy();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('test PKI', () => {
  let pki: TestPki;
  const servers: TestServer[] = [];
  before(async () => {
    pki = await makeTestPki();
  });
  after(async () => {
    await Promise.all(servers.map((server) => server.close()));
  });

  async function serve(names: readonly string[], options: Parameters<TestPki['issue']>[1], host?: '127.0.0.1' | '::1') {
    const server = await startHttpsServer((_req, res) => res.end('ok'), { ...(await pki.issue(names, options)), host });
    servers.push(server);
    return server;
  }

  it('issues leaves that verify against the CA by DNS name and by IP, over IPv4 and IPv6', async () => {
    const v4 = await serve(LOOPBACK_NAMES, {});
    assert.equal(await handshake(v4.port, '127.0.0.1', 'localhost', pki.caPem), 'authorized');
    assert.equal(await handshake(v4.port, '127.0.0.1', 'api.test', pki.caPem), 'authorized');
    assert.equal(await handshake(v4.port, '127.0.0.1', undefined, pki.caPem), 'authorized');
    const v6 = await serve(LOOPBACK_NAMES, {}, '::1');
    assert.equal(v6.origin, `https://[::1]:${v6.port}`);
    // Node 22 does not match an IPv6 literal against the certificate's IP SAN (Node 24 does), so
    // the literal is checked on 24 and the name on both.
    const v6Host = Number(process.versions.node.split('.')[0]) >= 24 ? undefined : 'localhost';
    assert.equal(await handshake(v6.port, '::1', v6Host, pki.caPem), 'authorized');
  });

  it('refuses a name the leaf does not carry', async () => {
    const server = await serve(LOOPBACK_NAMES, {});
    assert.equal(await handshake(server.port, '127.0.0.1', 'other.test', pki.caPem), 'ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('issues an expired leaf that fails verification', async () => {
    const server = await serve(LOOPBACK_NAMES, { expired: true });
    assert.equal(await handshake(server.port, '127.0.0.1', 'localhost', pki.caPem), 'CERT_HAS_EXPIRED');
  });

  it('issues a leaf from an untrusted CA that fails verification', async () => {
    const server = await serve(LOOPBACK_NAMES, { untrusted: true });
    assert.equal(await handshake(server.port, '127.0.0.1', 'localhost', pki.caPem), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(await handshake(server.port, '127.0.0.1', 'localhost', pki.untrustedCaPem), 'authorized');
  });

  it('caches the CA and leaves per process', async () => {
    assert.equal(await makeTestPki(), pki);
    const started = performance.now();
    const again = await pki.issue(LOOPBACK_NAMES);
    assert.equal(again, await pki.issue(LOOPBACK_NAMES));
    assert.ok(performance.now() - started < 50);
  });
});

describe('test servers and the connect spy', () => {
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });

  it('counts one real undici connection, and the server sees it', async () => {
    const server = await startHttpsServer((_req, res) => res.end('hi'), await pki.issue(LOOPBACK_NAMES));
    const agent = new Agent({ connect: { ca: pki.caPem } });
    const spy = spyConnections();
    try {
      const res = await request(`${server.origin}/`, { dispatcher: agent });
      assert.equal(await res.body.text(), 'hi');
      assert.equal(spy.count, 1);
      assert.equal(spy.undiciConnects, 1);
      assert.equal(spy.sockets, 1);
      assert.deepEqual(spy.attempts[0], { address: '127.0.0.1', port: server.port, family: 4 });
      assert.equal(server.connections, 1);
    } finally {
      spy.dispose();
      await agent.close();
      await server.close();
    }
  });

  it('counts a plain HTTP connection to ::1', async () => {
    const server = await startHttpServer((_req, res) => res.end('plain'), { host: '::1' });
    const agent = new Agent();
    const spy = spyConnections();
    try {
      const res = await request(`${server.origin}/`, { dispatcher: agent });
      assert.equal(await res.body.text(), 'plain');
      assert.equal(spy.count, 1);
      assert.equal(spy.attempts[0]?.address, '::1');
    } finally {
      spy.dispose();
      await agent.close();
      await server.close();
    }
  });

  it('sees a socket but no attempt when a lookup refuses before dialing', async () => {
    const agent = new Agent({
      connect: {
        lookup: (_host, _options, callback) => callback(new Error('refused by test lookup'), '', 0),
      },
    });
    const spy = spyConnections();
    try {
      await assert.rejects(request('https://blocked.test:1/', { dispatcher: agent }));
      assert.equal(spy.count, 0);
      assert.equal(spy.undiciConnects, 1);
      assert.equal(spy.sockets, 1);
    } finally {
      spy.dispose();
      await agent.close();
    }
  });

  it('stops counting after dispose', async () => {
    const server = await startHttpServer((_req, res) => res.end());
    const agent = new Agent();
    const spy = spyConnections();
    spy.dispose();
    try {
      await (await request(`${server.origin}/`, { dispatcher: agent })).body.dump();
      assert.equal(spy.count, 0);
      assert.equal(spy.undiciConnects, 0);
    } finally {
      await agent.close();
      await server.close();
    }
  });

  it('close() returns while a keep-alive connection is still open', async () => {
    const server = await startHttpsServer((_req, res) => res.end('x'), await pki.issue(LOOPBACK_NAMES));
    const agent = new Agent({ connect: { ca: pki.caPem }, keepAliveTimeout: 60_000 });
    try {
      await (await request(`${server.origin}/`, { dispatcher: agent })).body.dump();
      const started = performance.now();
      await server.close();
      assert.ok(performance.now() - started < 1000);
    } finally {
      await agent.destroy();
    }
  });
});
