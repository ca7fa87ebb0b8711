/**
 * The benchmark's upstream, run in its own process (forked by gateway.bench.ts) so that its CPU
 * does not count against the client being measured. Listens on 127.0.0.1 only.
 *
 * Protocol over the IPC channel:
 *   parent -> { type: 'start', key, cert }      child -> { type: 'ready', port, bombs }
 *   parent -> { type: 'stop' }                   (or the parent disconnecting) ends the child
 *
 * Routes:
 *   GET /v1/items/{id}?limit=N  1 KiB JSON, Content-Length, keep-alive
 *   GET /v1/huge                1 GiB of zeros, chunked (no Content-Length), streamed as fast as read
 *   GET /v1/gzip-bomb           gzip, ~1 MiB on the wire, 1 GiB decompressed (64 gzip members)
 *   GET /v1/br-bomb             brotli, ~2 KiB on the wire, 1 GiB decompressed
 */
import { createServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { constants, createBrotliCompress, gzipSync } from 'node:zlib';

interface StartMessage {
  type: 'start';
  key: string;
  cert: string;
}

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

/** A 1 KiB JSON document (exactly 1024 bytes). */
function makeItemBody(): Buffer {
  const doc = { id: 'item-0001', name: 'bench', tags: ['a', 'b', 'c'], values: [] as number[], pad: '' };
  for (let i = 0; i < 100; i++) doc.values.push(i * 7);
  const base = Buffer.byteLength(JSON.stringify(doc));
  doc.pad = 'x'.repeat(Math.max(0, 1024 - base));
  return Buffer.from(JSON.stringify(doc));
}

/** gzip: RFC 1952 allows concatenated members; 64 members of 16 MiB zeros each is 1 GiB. */
function makeGzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(16 * MIB), { level: 9 });
  return Buffer.concat(Array.from({ length: GIB / (16 * MIB) }, () => member));
}

/** brotli: one stream of 1 GiB zeros (quality 5 is quick and still ~2 KiB). */
function makeBrotliBomb(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const compressor = createBrotliCompress({
      params: { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_SIZE_HINT]: GIB },
    });
    const parts: Buffer[] = [];
    compressor.on('data', (chunk: Buffer) => parts.push(chunk));
    compressor.on('end', () => resolve(Buffer.concat(parts)));
    compressor.on('error', reject);
    const zeros = Buffer.alloc(MIB);
    let written = 0;
    const pump = (): void => {
      while (written < GIB) {
        written += zeros.length;
        if (!compressor.write(zeros)) return void compressor.once('drain', pump);
      }
      compressor.end();
    };
    pump();
  });
}

function streamZeros(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(256 * 1024);
  let sent = 0;
  let closed = false;
  res.on('close', () => (closed = true));
  const pump = (): void => {
    while (!closed && sent < total) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    if (!closed) res.end();
  };
  pump();
}

async function start(message: StartMessage): Promise<void> {
  const item = makeItemBody();
  const gzipBomb = makeGzipBomb();
  const brotliBomb = await makeBrotliBomb();
  const sockets = new Set<Socket>();

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path?.startsWith('/v1/items/')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': item.length }).end(item);
    } else if (path === '/v1/huge') {
      streamZeros(res, GIB);
    } else if (path === '/v1/gzip-bomb' || path === '/v1/br-bomb') {
      const body = path === '/v1/gzip-bomb' ? gzipBomb : brotliBomb;
      const encoding = path === '/v1/gzip-bomb' ? 'gzip' : 'br';
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding, 'content-length': body.length });
      res.end(body);
    } else {
      res.writeHead(404).end();
    }
  };

  const server = createServer({ key: message.key, cert: message.cert, keepAliveTimeout: 60_000 }, handler);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');

  const stop = (): void => {
    server.close();
    for (const socket of sockets) socket.destroy();
    process.disconnect?.();
  };
  process.on('message', (next: { type?: string }) => {
    if (next.type === 'stop') stop();
  });
  process.on('disconnect', () => {
    server.close();
    for (const socket of sockets) socket.destroy();
  });
  process.send?.({ type: 'ready', port: address.port, bombs: { gzipBytes: gzipBomb.length, brotliBytes: brotliBomb.length } });
}

process.once('message', (message: StartMessage) => {
  if (message.type !== 'start') return;
  start(message).catch((error: unknown) => {
    console.error('bench-server failed:', error);
    process.exit(1);
  });
});
