import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { Client } from 'undici';
import { connect } from 'node:net';
import type { Gateway } from '../src/gateway/gateway.ts';
import { fakeGateway } from './support/fake-gateway.ts';
import { until, within } from './support/routes.ts';
import { issueClientToken, parseClients } from '../src/hosts/sidecar/client-tokens.ts';
import { startSidecar, type Sidecar } from '../src/hosts/sidecar/server.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { startHttpsServer } from './support/servers.ts';

function policy(port: number, host = 'api.test'): object {
  return {
    version: 1,
    services: {
      notes: {
        baseUrl: `https://${host}:${port}`,
        rationale: 'Sidecar tests.',
        privateRanges: LOOPBACK_RANGES,
        operations: {
          list: { method: 'GET', path: '/notes', callers: ['php-app'] },
          purge: { method: 'DELETE', path: '/notes' },
        },
      },
    },
  };
}

async function post(socketPath: string, path: string, body: string, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
  const client = new Client('http://sidecar', { socketPath });
  try {
    const response = await client.request({ method: 'POST', path, body, headers: { 'content-type': 'application/json', ...headers } });
    return { status: response.statusCode, json: await response.body.json() };
  } finally {
    await client.close();
  }
}

describe('sidecar over a Unix socket (DESIGN §4.8)', () => {
  let fixture: GatewayFixture;
  let sidecar: Sidecar;
  const socketPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-sidecar-')), 'gatehouse.sock');
  const php = issueClientToken('php-app');
  const other = issueClientToken('reports');

  before(async () => {
    fixture = await startGatewayFixture({
      policy,
      handler: (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('[{"id":1}]');
      },
    });
    sidecar = await startSidecar(fixture.gateway, { listen: { socket: socketPath }, clients: [php.client, other.client], maxBodyBytes: 4096 });
  });
  after(async () => {
    await sidecar.close();
    await fixture.close();
  });

  it('creates the socket readable by its owner only', () => {
    assert.equal(statSync(socketPath).mode & 0o777, 0o600);
  });

  it('runs an operation for the role its token maps to', async () => {
    const { status, json } = await post(socketPath, '/v1/operations/notes.list', '{"params":{},"correlationId":"php-1"}', { authorization: `Bearer ${php.token}` });
    assert.equal(status, 200);
    assert.deepEqual(json, { ok: true, status: 200, data: [{ id: 1 }], correlationId: 'php-1', attempts: 1 });
    assert.equal(fixture.audit.at(-1)!.caller, 'php-app');
  });

  it('never lets a client act as main', async () => {
    const { json } = await post(socketPath, '/v1/operations/notes.purge', '{"params":{},"caller":"main"}', { authorization: `Bearer ${php.token}` });
    assert.equal((json as { error: { reason: string } }).error.reason, 'caller_not_allowed');
  });

  it('refuses a role the operation does not list', async () => {
    const { json } = await post(socketPath, '/v1/operations/notes.list', '{"params":{}}', { authorization: `Bearer ${other.token}` });
    assert.equal((json as { error: { reason: string } }).error.reason, 'caller_not_allowed');
  });

  it('refuses a missing or unknown token with 401', async () => {
    assert.equal((await post(socketPath, '/v1/operations/notes.list', '{}', {})).status, 401);
    assert.equal((await post(socketPath, '/v1/operations/notes.list', '{}', { authorization: 'Bearer nope' })).status, 401);
  });

  it('refuses oversized, malformed and non-JSON bodies', async () => {
    const auth = { authorization: `Bearer ${php.token}` };
    assert.equal((await post(socketPath, '/v1/operations/notes.list', JSON.stringify({ params: { x: 'a'.repeat(5000) } }), auth)).status, 413);
    assert.equal((await post(socketPath, '/v1/operations/notes.list', '{"params":', auth)).status, 400);
    assert.equal((await post(socketPath, '/v1/operations/notes.list', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', auth)).status, 400);
    assert.equal((await post(socketPath, '/v1/operations/notes.list', 'x', { ...auth, 'content-type': 'text/plain' })).status, 415);
  });

  it('answers only its one route', async () => {
    assert.equal((await post(socketPath, '/v1/request/notes', '{}', { authorization: `Bearer ${php.token}` })).status, 404);
  });
});

describe('sidecar on a socket without tokens (DESIGN §2 "gatehouse serve --policy FILE --socket PATH")', () => {
  it('serves token-less clients as the socket role, and still refuses a wrong token', async () => {
    const fixture = await startGatewayFixture({
      policy: (port) => {
        const p = policy(port) as { services: { notes: { operations: { list: { callers: string[] } } } } };
        p.services.notes.operations.list.callers = ['sidecar'];
        return p;
      },
      handler: (_req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end('[]');
      },
    });
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-sidecar-')), 'gh.sock');
    const sidecar = await startSidecar(fixture.gateway, { listen: { socket: socketPath }, clients: [], socketRole: 'sidecar' });
    try {
      const { json } = await post(socketPath, '/v1/operations/notes.list', '{"params":{}}', {});
      assert.equal((json as { ok: boolean }).ok, true, JSON.stringify(json));
      assert.equal(fixture.audit.at(-1)!.caller, 'sidecar');
      assert.equal((await post(socketPath, '/v1/operations/notes.list', '{}', { authorization: 'Bearer guess' })).status, 401);
      const purge = await post(socketPath, '/v1/operations/notes.purge', '{"params":{}}', {});
      assert.equal((purge.json as { error: { reason: string } }).error.reason, 'caller_not_allowed');
    } finally {
      await sidecar.close();
      await fixture.close();
    }
  });

  it('refuses a token-less role on a port, or the role main', async () => {
    const gateway = { call: async () => ({ ok: true }) } as never;
    await assert.rejects(startSidecar(gateway, { listen: { host: '127.0.0.1', port: 0 }, clients: [], socketRole: 'sidecar' }), /Unix socket only/);
    await assert.rejects(startSidecar(gateway, { listen: { socket: join(tmpdir(), 'never.sock') }, clients: [], socketRole: 'main' }), /may not be main/);
  });
});

describe('sidecar client tokens', () => {
  it('keeps only a digest of the token', () => {
    const { token, client } = issueClientToken('php-app');
    assert.ok(!JSON.stringify(client).includes(token));
    assert.match(client.tokenSha256, /^[0-9a-f]{64}$/);
  });

  it("never issues or serves a token for 'main' through the API either", async () => {
    assert.throws(() => issueClientToken('main'), /main/);
    const gateway = { call: async () => ({ ok: true }) } as never;
    const forged = { role: 'main', tokenSha256: 'b'.repeat(64) };
    await assert.rejects(startSidecar(gateway, { listen: { socket: join(tmpdir(), 'never2.sock') }, clients: [forged] }), /main/);
  });

  it("refuses a tokens file that maps a client to 'main'", () => {
    assert.throws(() => parseClients({ clients: [{ role: 'main', tokenSha256: 'a'.repeat(64) }] }), /main/);
  });

  it('listens on loopback only', async () => {
    const gateway = { call: async () => ({ ok: true }) } as never;
    await assert.rejects(startSidecar(gateway, { listen: { host: '0.0.0.0' as '127.0.0.1', port: 0 }, clients: [] }), /loopback only/);
  });
});

describe('sidecar clients that hang up or pile up (DESIGN §5 "Cancellation and shutdown")', () => {
  it("cancels the call of a client that hangs up, and closes connections past maxConnections", async () => {
    const gateway = fakeGateway();
    gateway.hold = true;
    const client = issueClientToken('php-app');
    const socketPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-hangup-')), 'gatehouse.sock');
    const sidecar = await startSidecar(gateway as unknown as Gateway, { listen: { socket: socketPath }, clients: [client.client], maxConnections: 2 });
    try {
      const socket = connect(socketPath);
      await once(socket, 'connect');
      const body = '{"params":{}}';
      socket.write(`POST /v1/operations/notes.list HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${client.token}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
      await until(() => gateway.calls.length > 0, 1000, 'the call reached the gateway');
      const signal = gateway.calls[0]!.options.signal!;
      assert.equal(signal.aborted, false);
      socket.destroy();
      await within(1000, once(signal, 'abort'), 'the call is cancelled');

      const held = [connect(socketPath), connect(socketPath)];
      await Promise.all(held.map((s) => once(s, 'connect')));
      const extra = connect(socketPath);
      await within(1000, once(extra, 'close'), 'a third connection is closed');
      for (const s of held) s.destroy();
    } finally {
      gateway.release();
      await sidecar.close();
    }
  });
});

describe('gatehouse serve (CLI)', () => {
  it('serves a PHP-style client over a socket and stops on SIGTERM', async () => {
    const pki = await makeTestPki();
    const upstream = await startHttpsServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"served":true}');
    }, await pki.issue(LOOPBACK_NAMES));
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-'));
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(policy(upstream.port, '127.0.0.1')));
    writeFileSync(join(dir, 'ca.pem'), pki.caPem);
    const cli = join(import.meta.dirname, '../src/cli/main.ts');
    const tokens = join(dir, 'tokens.json');
    const token = execFileSync(process.execPath, [cli, 'sidecar', 'token', '--role', 'php-app', '--tokens', tokens], { encoding: 'utf8' }).trim();
    assert.equal(statSync(tokens).mode & 0o777, 0o600);

    const socket = join(dir, 'gatehouse.sock');
    const child = spawn(process.execPath, [cli, 'serve', '--policy', policyFile, '--tokens', tokens, '--socket', socket, '--data-dir', join(dir, 'data')], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), HTTPS_PROXY: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    try {
      let stderr = '';
      child.stderr.on('data', (chunk) => (stderr += chunk));
      while (!stderr.includes('listening')) await once(child.stderr, 'data');
      const { json } = await post(socket, '/v1/operations/notes.list', '{"params":{}}', { authorization: `Bearer ${token}` });
      assert.deepEqual((json as { data: unknown }).data, { served: true });
      child.kill('SIGTERM');
      const [code] = await once(child, 'exit');
      assert.equal(code, 0);
    } finally {
      child.kill('SIGKILL');
      await upstream.close();
    }
  });

  it('refuses a bad tokens file, port or host as a usage error (exit 1, one line), never an internal error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-serve-usage-'));
    const policyFile = join(dir, 'policy.json');
    writeFileSync(policyFile, JSON.stringify(policy(1, '127.0.0.1')));
    const cli = join(import.meta.dirname, '../src/cli/main.ts');
    const tokens = join(dir, 'tokens.json');
    execFileSync(process.execPath, [cli, 'sidecar', 'token', '--role', 'app', '--tokens', tokens]);
    writeFileSync(join(dir, 'bad.json'), 'not json');
    writeFileSync(join(dir, 'wrong.json'), '{"clients":[{"role":"main","tokenSha256":"00"}]}');
    const serve = (...args: string[]): { status: number | null; stderr: string } => {
      try {
        execFileSync(process.execPath, [cli, 'serve', '--policy', policyFile, '--data-dir', join(dir, 'data'), ...args], { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
        return { status: 0, stderr: '' };
      } catch (error) {
        const failed = error as { status: number | null; stderr: string };
        return { status: failed.status, stderr: failed.stderr };
      }
    };
    for (const [args, message] of [
      [['--tokens', join(dir, 'bad.json'), '--port', '0'], /tokens file .* is not JSON/],
      [['--tokens', join(dir, 'wrong.json'), '--port', '0'], /tokens file .* is not usable/],
      [['--tokens', tokens, '--port', 'abc'], /port number/],
      [['--tokens', tokens, '--port', '99999'], /port number/],
      [['--tokens', tokens, '--port', '0', '--host', '10.0.0.1'], /loopback address/],
      [['--tokens', tokens, '--port', '0', '--host', '0.0.0.0'], /loopback address/],
      [['--port', '0'], /--port needs --tokens/],
      [['--tokens', tokens], /exactly one of --socket or --port/],
    ] as const) {
      const { status, stderr } = serve(...args);
      assert.equal(status, 1, `${args.join(' ')}: ${stderr}`);
      assert.match(stderr, message);
      assert.doesNotMatch(stderr, /internal error/);
    }
    try {
      execFileSync(process.execPath, [cli, 'sidecar', 'token', '--role', 'main', '--tokens', tokens], { stdio: 'pipe', encoding: 'utf8' });
      assert.fail('a token for main was issued');
    } catch (error) {
      const failed = error as { status: number | null; stderr: string };
      assert.equal(failed.status, 1);
      assert.match(failed.stderr, /may not be main/);
    }
  });
});
