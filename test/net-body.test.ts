// Bounded body reading and decompression (requestOnce), over real HTTPS loopback servers.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, it } from 'node:test';
import { brotliCompressSync, constants, createBrotliCompress, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { Agent } from 'undici';
import { isFailure } from '../src/errors.ts';
import { requestOnce, type AnswerMeter, type Cancellation } from '../src/net/request-once.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { until } from './support/routes.ts';
import { startHttpsServer } from './support/servers.ts';
import type { TestServer } from './support/servers.ts';

const MiB = 1 << 20;
const TEXT = Buffer.from(JSON.stringify({ hello: 'world', list: Array.from({ length: 200 }, (_, i) => i) }));

/** 1 GiB of zeros as gzip: 32 members of 32 MiB each (RFC 1952 allows a series of members). */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(32 * MiB), { level: 9 });
  return Buffer.concat(Array.from({ length: 32 }, () => member));
}

/** 1 GiB of zeros as one brotli stream, compressed while streaming. */
async function brotliBomb(): Promise<Buffer> {
  const zeros = Buffer.alloc(MiB);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from((function* () { for (let i = 0; i < 1024; i++) yield zeros; })()),
    createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }),
    async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out.push(chunk);
    },
  );
  return Buffer.concat(out);
}

function send(res: ServerResponse, body: Buffer, headers: Record<string, string | number> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/** A cancellation the test fires by hand. */
function manualCancel(): Cancellation & { fire(reason: Error): void } {
  let hook: ((reason: Error) => void) | undefined;
  let reason: Error | undefined;
  return {
    get reason() {
      return reason;
    },
    onAbort(next) {
      hook = next;
    },
    fire(error) {
      reason = error;
      hook?.(error);
    },
  };
}

describe('requestOnce: bodies', () => {
  let server: TestServer;
  let agent: Agent;
  let gzBomb: Buffer;
  /** 64 MiB of zeros as brotli with the largest window (16 MiB): a few dozen bytes on the wire. */
  let brWideBomb: Buffer;

  let brBomb: Buffer;
  const serverSocketsClosed: Promise<void>[] = [];
  const held: (() => void)[] = [];
  let caPem: string;

  before(async () => {
    [gzBomb, brBomb] = [gzipBomb(), await brotliBomb()];
    brWideBomb = brotliCompressSync(Buffer.alloc(64 * MiB), { params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: 24 } });

    const pki = await makeTestPki();
    server = await startHttpsServer((req, res) => {
      const url = new URL(req.url ?? '/', 'https://x');
      const route = url.pathname;
      if (route === '/plain') return send(res, TEXT);
      if (route === '/exact') return send(res, Buffer.alloc(Number(url.searchParams.get('n'))));
      if (route === '/chunked') {
        // No Content-Length: a body that only the streaming count can stop.
        res.writeHead(200);
        let sent = 0;
        const pump = (): void => {
          while (sent < 4 * MiB) {
            sent += 64 * 1024;
            if (!res.write(Buffer.alloc(64 * 1024, 0x61))) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      if (route === '/declared-large') {
        serverSocketsClosed.push(new Promise((resolve) => req.socket.once('close', () => resolve())));
        res.writeHead(200, { 'content-length': 8 * MiB });
        res.write(Buffer.alloc(1024));
        return; // never finishes: the client must not wait for it
      }
      if (route === '/hold') {
        // Answers when the test says so: keeps the only connection of a one-connection pool busy.
        held.push(() => send(res, TEXT));
        return;
      }
      if (route === '/gzip') return send(res, gzipSync(TEXT), { 'content-encoding': 'gzip' });
      if (route === '/x-gzip') return send(res, gzipSync(TEXT), { 'content-encoding': 'X-GZIP' });
      if (route === '/deflate-zlib') return send(res, deflateSync(TEXT), { 'content-encoding': 'deflate' });
      if (route === '/deflate-raw') return send(res, deflateRawSync(TEXT), { 'content-encoding': 'deflate' });
      if (route === '/br') return send(res, brotliCompressSync(TEXT), { 'content-encoding': 'br' });
      if (route === '/identity') return send(res, TEXT, { 'content-encoding': 'identity' });
      // Applied in order listed: deflate first, then br on top.
      if (route === '/deflate-br') return send(res, brotliCompressSync(deflateSync(TEXT)), { 'content-encoding': 'deflate, identity, br' });
      if (route === '/three') return send(res, gzipSync(gzipSync(gzipSync(TEXT))), { 'content-encoding': 'gzip, gzip, gzip' });
      if (route === '/unknown') return send(res, TEXT, { 'content-encoding': 'compress' });
      if (route === '/zstd') return send(res, TEXT, { 'content-encoding': 'zstd' });
      if (route === '/empty-gzip') return send(res, Buffer.alloc(0), { 'content-encoding': 'gzip' });
      if (route === '/corrupt-gzip') {
        const bytes = gzipSync(TEXT);
        bytes[bytes.length - 6] = (bytes[bytes.length - 6] ?? 0) ^ 0xff; // CRC no longer matches
        return send(res, bytes, { 'content-encoding': 'gzip' });
      }
      if (route === '/not-gzip') return send(res, TEXT, { 'content-encoding': 'gzip' });
      if (route === '/not-gzip-streaming') {
        // Still sending when the decoder fails: the body is destroyed mid-stream.
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.write(TEXT);
        const timer = setInterval(() => res.write(TEXT), 5);
        res.once('close', () => clearInterval(timer));
        return;
      }
      if (route === '/incompressible-gzip') return send(res, gzipSync(randomBytes(2 * MiB)), { 'content-encoding': 'gzip' });
      if (route === '/gzip-bomb') return send(res, gzBomb, { 'content-encoding': 'gzip' });
      if (route === '/br-wide-bomb') return send(res, brWideBomb, { 'content-encoding': 'br' });
      if (route === '/br-window') {
        const lgwin = Number(url.searchParams.get('lgwin'));
        return send(res, brotliCompressSync(TEXT, { params: { [constants.BROTLI_PARAM_LGWIN]: lgwin } }), { 'content-encoding': 'br' });
      }
      if (route === '/br-bomb') return send(res, brBomb, { 'content-encoding': 'br' });
      if (route === '/reset' || route === '/reset-gzip') {
        const bytes = route === '/reset' ? TEXT : gzipSync(TEXT);
        res.writeHead(200, { 'content-length': bytes.length, ...(route === '/reset-gzip' ? { 'content-encoding': 'gzip' } : {}) });
        res.write(bytes.subarray(0, 20), () => setTimeout(() => req.socket.destroy(), 20));
        return;
      }
      if (route === '/stall-gzip') {
        res.writeHead(200, { 'content-encoding': 'gzip' });
        res.write(gzipSync(TEXT).subarray(0, 10));
        return; // stalls: bodyTimeout fires
      }
      res.writeHead(404).end();
    }, await pki.issue(LOOPBACK_NAMES));
    caPem = pki.caPem;
    agent = new Agent({ connect: { ca: caPem } });
  });

  after(async () => {
    await agent.close();
    await server.close();
  });

  async function get(path: string, maxBytes = MiB, options: { idleTimeoutMs?: number; cancel?: Cancellation } = {}) {
    const meter: AnswerMeter = { status: undefined, bytesIn: 0, bytesOut: 0 };
    const request = { origin: server.origin, path, method: 'GET', headers: {}, body: undefined };
    const limits = { maxResponseBytes: maxBytes, headersTimeoutMs: undefined, idleTimeoutMs: options.idleTimeoutMs, backstopMs: 10_000, cancel: options.cancel ?? manualCancel() };
    const answer = await requestOnce(agent, request, limits, meter);
    assert.ok(answer.body !== undefined);
    return { bytes: answer.body, wireBytes: meter.bytesIn, status: meter.status };
  }

  async function refusal(path: string, maxBytes = MiB): Promise<string> {
    try {
      await get(path, maxBytes);
    } catch (error) {
      assert.ok(isFailure(error), `a GatehouseFailure, got ${String(error)}`);
      return error.reason;
    }
    assert.fail('the body was accepted');
  }

  it('reads a plain body and counts its wire bytes', async () => {
    const { bytes, wireBytes, status } = await get('/plain');
    assert.deepEqual(bytes, TEXT);
    assert.equal(wireBytes, TEXT.length);
    assert.equal(status, 200);
  });

  it('accepts exactly maxBytes and refuses one byte more', async () => {
    assert.equal((await get('/exact?n=1000', 1000)).bytes.length, 1000);
    assert.equal(await refusal('/exact?n=1001', 1000), 'too_large');
  });

  it('refuses a Content-Length over the cap up front and closes the connection', async () => {
    const started = performance.now();
    assert.equal(await refusal('/declared-large'), 'too_large');
    await serverSocketsClosed[0];
    assert.ok(performance.now() - started < 2000);
  });

  it('refuses a streamed body with no Content-Length once it passes the cap', async () => {
    assert.equal(await refusal('/chunked'), 'too_large');
  });

  for (const path of ['/gzip', '/x-gzip', '/deflate-zlib', '/deflate-raw', '/br', '/identity', '/deflate-br']) {
    it(`decodes ${path.slice(1)}`, async () => {
      const { bytes, wireBytes } = await get(path);
      assert.deepEqual(bytes, TEXT);
      assert.ok(wireBytes > 0);
    });
  }

  it('returns an empty body for a coding header on an empty body', async () => {
    const { bytes, wireBytes } = await get('/empty-gzip');
    assert.equal(bytes.length, 0);
    assert.equal(wireBytes, 0);
  });

  it('refuses unknown codings and more than two codings', async () => {
    assert.equal(await refusal('/unknown'), 'unsupported_encoding');
    assert.equal(await refusal('/zstd'), 'unsupported_encoding');
    assert.equal(await refusal('/three'), 'unsupported_encoding');
  });

  it('refuses corrupt compressed data as unsupported_encoding', async () => {
    assert.equal(await refusal('/corrupt-gzip'), 'unsupported_encoding');
    assert.equal(await refusal('/not-gzip'), 'unsupported_encoding');
    assert.equal(await refusal('/not-gzip-streaming'), 'unsupported_encoding');
  });

  it('counts compressed bytes on the wire against the cap', async () => {
    assert.equal(await refusal('/incompressible-gzip'), 'too_large');
  });

  it('refuses decompressed output one byte over the cap', async () => {
    assert.equal((await get('/gzip', TEXT.length)).bytes.length, TEXT.length);
    assert.equal(await refusal('/gzip', TEXT.length - 1), 'decompression_limit');
  });

  for (const [path, label] of [['/gzip-bomb', 'gzip'], ['/br-bomb', 'brotli']] as const) {
    it(`stops a 1 GiB ${label} bomb at a 1 MiB cap quickly and with bounded memory`, async () => {
      const rssBefore = process.memoryUsage.rss();
      let rssPeak = rssBefore;
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }, 2);
      const started = performance.now();
      try {
        assert.equal(await refusal(path), 'decompression_limit');
      } finally {
        clearInterval(sampler);
      }
      const elapsed = performance.now() - started;
      rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      const growth = (rssPeak - rssBefore) / MiB;
      console.log(`# ${label} bomb (${((label === 'gzip' ? gzBomb : brBomb).length / 1e6).toFixed(2)} MB on the wire): refused in ${elapsed.toFixed(1)} ms, RSS +${growth.toFixed(1)} MiB`);
      assert.ok(growth < 64, `RSS grew ${growth} MiB`);
      assert.ok(elapsed < 2000, `took ${elapsed} ms`);
    });
  }

  it('accepts brotli windows up to 4 MiB and refuses wider ones before decoding (16 MiB each otherwise)', async () => {
    for (const lgwin of [10, 16, 18, 22]) assert.deepEqual((await get(`/br-window?lgwin=${lgwin}`)).bytes, TEXT, `lgwin ${lgwin}`);
    for (const lgwin of [23, 24]) assert.equal(await refusal(`/br-window?lgwin=${lgwin}`), 'unsupported_encoding', `lgwin ${lgwin}`);
    const rssBefore = process.memoryUsage.rss();
    const reasons = await Promise.all(Array.from({ length: 20 }, () => refusal('/br-wide-bomb')));
    const growth = (process.memoryUsage.rss() - rssBefore) / MiB;
    assert.deepEqual(new Set(reasons), new Set(['unsupported_encoding']));
    assert.ok(growth < 32, `20 wide-window bombs grew RSS by ${growth.toFixed(1)} MiB`);
  });

  it('passes body stream errors through as they are, plain and compressed', async () => {
    for (const path of ['/reset', '/reset-gzip']) {
      await assert.rejects(get(path), (error: NodeJS.ErrnoException) => {
        assert.ok(!isFailure(error), `${path}: not reclassified`);
        assert.equal(error.code, 'UND_ERR_SOCKET');
        return true;
      });
    }
  });

  it('does not count the time Gatehouse pauses a body for its decoders against idleTimeoutMs', async () => {
    // The bomb's first chunks keep the decoders busy far longer than 1 ms while undici is paused:
    // the answer is the cap, not a body timeout.
    const refused = await get('/gzip-bomb', MiB, { idleTimeoutMs: 1 }).then(
      () => 'accepted',
      (error: NodeJS.ErrnoException) => (isFailure(error) ? error.reason : String(error.code)),
    );
    assert.equal(refused, 'decompression_limit');
  });

  it('ends a body that stalls at idleTimeoutMs, precisely, plain and compressed', async () => {
    for (const path of ['/declared-large', '/stall-gzip']) {
      const started = performance.now();
      await assert.rejects(get(path, 64 * MiB, { idleTimeoutMs: 100 }), (error: NodeJS.ErrnoException) => error.code === 'UND_ERR_BODY_TIMEOUT');
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 95 && elapsed < 400, `${path}: ${elapsed} ms for 100 ms`);
    }
  });

  it('takes a cancelled request out of the queue at once, keeping the busy connection (undici kQueuedAbort)', async () => {
    const single = new Agent({ connect: { ca: caPem }, connections: 1 });
    const request = (path: string) => ({ origin: server.origin, path, method: 'POST', headers: { 'x-api-key': 'queued-secret' }, body: Buffer.from('{}') });
    const limits = (cancel: Cancellation) => ({ maxResponseBytes: MiB, headersTimeoutMs: undefined, idleTimeoutMs: undefined, backstopMs: 10_000, cancel });
    const meter = (): AnswerMeter => ({ status: undefined, bytesIn: 0, bytesOut: 0 });
    try {
      const connectionsBefore = server.connections;
      const busy = requestOnce(single, request('/hold'), limits(manualCancel()), meter());
      await until(() => held.length > 0, 2000, 'the server got the first request');
      const cancel = manualCancel();
      const waiting = requestOnce(single, request('/plain'), limits(cancel), meter());
      const queued = (): number => Object.values(single.stats).reduce((sum, pool) => sum + pool.pending + ('queued' in pool ? pool.queued : 0), 0);
      assert.equal(queued(), 1, 'the second request waits for the only connection');
      cancel.fire(new Error('caller gave up'));
      await assert.rejects(waiting, { message: 'caller gave up' });
      assert.equal(queued(), 0, 'and is no longer queued');
      held.shift()!();
      const answered = meter();
      assert.equal((await busy).status, 200);
      await requestOnce(single, request('/plain'), limits(manualCancel()), answered);
      assert.equal(answered.bytesOut, 2, 'bytesOut counts the request body');
      assert.equal(server.connections - connectionsBefore, 1, 'one connection served all, none was destroyed');
    } finally {
      await single.close();
    }
  });

  it('ends with the cancellation reason, plain and compressed, before and during the body', async () => {
    for (const path of ['/declared-large', '/stall-gzip']) {
      const cancel = manualCancel();
      const reading = get(path, 64 * MiB, { cancel });
      setTimeout(() => cancel.fire(new Error('caller gave up')), 20);
      await assert.rejects(reading, { message: 'caller gave up' });
    }
    const cancel = manualCancel();
    cancel.fire(new Error('gave up before sending'));
    await assert.rejects(get('/plain', MiB, { cancel }), { message: 'gave up before sending' });
  });
});
