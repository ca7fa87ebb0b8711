/**
 * The one-shot redirect listener of a native-app sign-in: `http://127.0.0.1:<ephemeral>/callback`.
 * It answers a redirect with the wrong (or no) `state` with 400 and keeps waiting, so a forged
 * redirect can neither end the sign-in nor get its code exchanged. Closed when the sign-in ends.
 * @see RFC 8252 §7.3, §8.3
 * @internal
 */
import { timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatehouseFailure } from '../errors.ts';

/** A listening redirect endpoint. */
export interface LoopbackRedirect {
  /** `http://127.0.0.1:PORT/callback`. */
  readonly redirectUri: string;
  /** Resolves with the query of the first redirect whose `state` matches; rejects when `signal` aborts. */
  wait(signal: AbortSignal): Promise<URLSearchParams>;
  /** Stops listening and drops open connections. Idempotent. */
  close(): Promise<void>;
}

const PAGE_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'",
  'referrer-policy': 'no-referrer',
  'x-content-type-options': 'nosniff',
};

function page(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, PAGE_HEADERS);
  res.end(`<!doctype html><meta charset="utf-8"><title>Sign-in</title><p>${text}</p>`);
}

function sameState(got: string | null, expected: string): boolean {
  if (got === null) return false;
  const a = Buffer.from(got);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Starts listening on 127.0.0.1 (an ephemeral port) for the redirect carrying `state`. */
export async function startLoopbackRedirect(state: string): Promise<LoopbackRedirect> {
  const sockets = new Set<Socket>();
  let deliver: ((params: URLSearchParams) => void) | undefined;
  let received: URLSearchParams | undefined;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.method !== 'GET' || url.pathname !== '/callback') return page(res, 404, 'Not found.');
    if (received !== undefined || !sameState(url.searchParams.get('state'), state)) {
      return page(res, 400, 'This sign-in link is not valid. Start the sign-in again from the app.');
    }
    received = url.searchParams;
    const failed = url.searchParams.has('error');
    page(res, 200, failed ? 'Sign-in did not complete. You can close this window and return to the app.' : 'You are signed in. You can close this window and return to the app.');
    deliver?.(received);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket: Socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => resolve());
  });
  const { port } = server.address() as { port: number };
  let closed: Promise<void> | undefined;

  return {
    redirectUri: `http://127.0.0.1:${port}/callback`,
    wait(signal) {
      return new Promise((resolve, reject) => {
        if (received !== undefined) return resolve(received);
        const onAbort = (): void => reject(abortFailure(signal));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        deliver = (params) => {
          signal.removeEventListener('abort', onAbort);
          resolve(params);
        };
      });
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Let the answer page reach the browser before dropping its connection.
        setImmediate(() => {
          for (const socket of sockets) socket.destroy();
        });
      });
      return closed;
    },
  };
}

/** The failure for a sign-in whose signal fired: `timeout`/`deadline` for its deadline, else `cancelled`/`aborted`. */
export function abortFailure(signal: AbortSignal): GatehouseFailure {
  const reason: unknown = signal.reason;
  const timedOut = reason instanceof DOMException && reason.name === 'TimeoutError';
  return timedOut
    ? new GatehouseFailure('deadline', 'sign-in deadline passed')
    : new GatehouseFailure('aborted', 'sign-in aborted');
}
