/**
 * The demo's upstream: a small HTTPS "weather API" on 127.0.0.1 that misbehaves on purpose on
 * some routes (redirects away, huge bodies, no answer, 503), so the demo can show what Gatehouse
 * does with each. It records what it received, so the demo can show what actually arrived.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { Socket } from 'node:net';

/** One request as the demo API saw it (no header values, except whether the key was present). */
export interface SeenRequest {
  host: string;
  method: string;
  url: string;
  hasApiKey: boolean;
}

/** A running demo API. */
export interface DemoApi {
  readonly port: number;
  /** Requests received so far, in order. */
  readonly seen: readonly SeenRequest[];
  /** Stops listening and drops every open connection (including the one left hanging). */
  close(): Promise<void>;
}

/** Thrown when the fixed demo port is taken. */
export class PortBusyError extends Error {
  readonly port: number;
  constructor(port: number) {
    super(`port ${port} on 127.0.0.1 is already in use`);
    this.port = port;
  }
}

const SKIES = ['clear', 'partly cloudy', 'light rain', 'overcast', 'showers'];
const EXPORT_BYTES = 8 * 1024 * 1024;

/** Starts the demo API on 127.0.0.1:`port` with the given certificate. */
export async function startDemoApi(port: number, tls: { key: string; cert: string }): Promise<DemoApi> {
  const seen: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    seen.push({
      host: req.headers.host ?? '',
      method: req.method ?? '',
      url: req.url ?? '',
      hasApiKey: typeof req.headers['x-api-key'] === 'string',
    });
    route(req, res);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(error.code === 'EADDRINUSE' ? new PortBusyError(port) : error));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, resolve);
  });

  return {
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'https://api.demo.test');
  const forecast = /^\/v1\/forecast\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && forecast) return sendForecast(res, decodeURIComponent(forecast[1]!), Number(url.searchParams.get('days') ?? 1));
  if (req.method === 'POST' && url.pathname === '/v1/favourites') return saveFavourite(req, res);
  if (url.pathname === '/v1/links/partner') {
    // A redirect to a host the policy never mentions (think: a tracker, or an attacker's server).
    res.writeHead(302, { location: 'https://tracker.elsewhere.test/collect?from=weather' }).end();
    return;
  }
  if (url.pathname === '/v1/export') return streamExport(res);
  if (url.pathname === '/v1/alerts') return; // never answers: the socket just hangs
  if (url.pathname === '/v1/status') {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '30' }).end('maintenance until later');
    return;
  }
  sendJson(res, 404, { error: 'not found' });
}

function sendForecast(res: ServerResponse, city: string, days: number): void {
  const count = Number.isInteger(days) && days > 0 ? Math.min(days, 14) : 1;
  const list = Array.from({ length: count }, (_, day) => ({
    day: day + 1,
    highC: 12 + ((city.length + day * 3) % 7),
    lowC: 3 + ((city.length + day) % 4),
    sky: SKIES[(city.length + day) % SKIES.length],
  }));
  sendJson(res, 200, { city, days: list });
}

function saveFavourite(req: IncomingMessage, res: ServerResponse): void {
  let text = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (text += chunk.slice(0, 4096)));
  req.on('end', () => {
    let city = '?';
    try {
      city = String((JSON.parse(text) as { city?: unknown }).city);
    } catch {
      // the gateway validated the body; a bad one would simply be echoed as '?'
    }
    sendJson(res, 201, { saved: city, id: 'fav-1' });
  });
}

/** 8 MiB of JSON-ish text, chunked (no Content-Length), so the cap must hold while streaming. */
function streamExport(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const pump = (): void => {
    while (sent < EXPORT_BYTES) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once('drain', pump);
    }
    res.end();
  };
  res.on('close', () => (sent = EXPORT_BYTES));
  pump();
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}
