/**
 * A routing handler for hostile-server tests: the last path segment names the behaviour, so one
 * loopback server (and one gateway) serves many scenarios. Counts hits per route.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from './servers.ts';

/** A handler that dispatches on the last path segment and counts what it saw. */
export interface RoutedHandler extends Handler {
  /** Requests seen per route name. */
  readonly hits: Map<string, number>;
  /** Every request seen, in order. */
  readonly requests: { route: string; headers: IncomingMessage['headers'] }[];
}

/** Builds a {@link RoutedHandler}; an unknown route answers 418 so a mistake is visible. */
export function routed(routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void>): RoutedHandler {
  const hits = new Map<string, number>();
  const requests: RoutedHandler['requests'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'https://x.invalid').pathname;
    const route = decodeURIComponent(path.slice(path.lastIndexOf('/') + 1));
    hits.set(route, (hits.get(route) ?? 0) + 1);
    requests.push({ route, headers: req.headers });
    // Swallow socket errors of deliberately broken exchanges.
    res.on('error', () => {});
    req.on('error', () => {});
    const route_ = Object.hasOwn(routes, route) ? routes[route] : undefined;
    if (route_ === undefined) {
      res.writeHead(418, { 'content-type': 'text/plain' }).end('no such route');
      return;
    }
    route_(req, res);
  };
  return Object.assign(handler, { hits, requests });
}

/** Answers JSON with the given status and extra headers. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  };
}

/** Answers raw bytes with the given status and headers. */
export function raw(status: number, body: string | Buffer, headers: Record<string, string> = {}) {
  return (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, headers).end(body);
  };
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `predicate` holds, polling every 10 ms; rejects after `ms`. */
export async function until(predicate: () => boolean | Promise<boolean>, ms = 5000, label = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`${label}: not within ${ms} ms`);
    await sleep(10);
  }
}

/** Races `promise` against a timeout that rejects with `label`. */
export async function within<T>(ms: number, promise: Promise<T>, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${label}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
