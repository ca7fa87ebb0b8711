/**
 * Loopback test servers on ephemeral ports. They only ever listen on 127.0.0.1 or ::1, count the
 * TCP connections they accept, and `close()` destroys open sockets so tests never hang.
 */
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server } from 'node:net';
import type { Socket } from 'node:net';

/** A request handler, as for `node:http`. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** Where a test server listens. @default '127.0.0.1' */
export type LoopbackHost = '127.0.0.1' | '::1';

/** A running test server. */
export interface TestServer {
  readonly port: number;
  /** `https://127.0.0.1:PORT`, `https://[::1]:PORT`, or the `http:` equivalent. */
  readonly origin: string;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Stops listening and destroys every open socket. */
  close(): Promise<void>;
}

/** Options of {@link startHttpsServer}. */
export interface HttpsServerOptions {
  key: string;
  cert: string;
  host?: LoopbackHost;
}

/**
 * Starts an HTTPS server on an ephemeral loopback port.
 * @example const server = await startHttpsServer((req, res) => res.end('{}'), await pki.issue(LOOPBACK_NAMES));
 */
export function startHttpsServer(handler: Handler, options: HttpsServerOptions): Promise<TestServer> {
  const server = createHttpsServer({ key: options.key, cert: options.cert }, handler);
  return listen(server, 'https', options.host ?? '127.0.0.1');
}

/** Starts a plain HTTP server on an ephemeral loopback port (insecure-transport tests). */
export function startHttpServer(handler: Handler, options: { host?: LoopbackHost } = {}): Promise<TestServer> {
  return listen(createHttpServer(handler), 'http', options.host ?? '127.0.0.1');
}

async function listen(server: Server, scheme: 'http' | 'https', host: LoopbackHost): Promise<TestServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that resets mid-handshake must not crash the test process.
  server.on('tlsClientError', () => {});
  server.on('clientError', (_error: Error, socket: Socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('server has no TCP address');
  const port = address.port;
  const origin = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    port,
    origin,
    get connections() {
      return connections;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
