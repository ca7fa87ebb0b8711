/**
 * The sidecar: the gateway's operations over HTTP on a Unix socket or a loopback port, for apps
 * in any language. `POST /v1/operations/{operationId}` with `{ params, correlationId? }` and
 * `Authorization: Bearer <client token>` answers the call's envelope as JSON. The caller role
 * comes from the token, never from the request; `request()` is not exposed.
 * @see DESIGN.md §2 "Hosts", §4.8
 */
import { chmod } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Gateway } from '../../gateway/gateway.ts';
import { isFailure } from '../../errors.ts';
import { parseJson } from '../../net/json.ts';
import { isLoopbackAddress } from '../../net/address.ts';
import { parseClients, tokenMatcher, type SidecarClient } from './client-tokens.ts';

/** Where and for whom the sidecar listens. */
export interface SidecarOptions {
  /** A Unix socket path (created 0600), or a loopback address and port. */
  listen: { socket: string } | { host: string; port: number };
  /** Registered clients; a request with an unknown token is refused. */
  clients: readonly SidecarClient[];
  /**
   * Role of requests that carry no token, on a Unix socket only (its 0600 mode is then the
   * authentication: only the socket owner's processes can connect). Never `main`.
   * @default undefined: every request needs a token
   */
  socketRole?: string;
  /** Largest request body accepted. @default 1048576 */
  maxBodyBytes?: number;
  /** Connections served at once; more are closed as they arrive, so memory stays bounded. @default 128 */
  maxConnections?: number;
}

/** A running sidecar. */
export interface Sidecar {
  /** The socket path, or `http://127.0.0.1:PORT`. */
  readonly address: string;
  close(): Promise<void>;
}

const ROUTE = /^\/v1\/operations\/([^/?#]{1,200})$/;
const MAX_DEPTH = 64;

function reply(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

function refusal(res: ServerResponse, status: number, code: string, message: string): void {
  reply(res, status, { ok: false, error: { kind: 'sidecar', reason: code, message } });
}

async function readJson(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw Object.assign(new Error('too large'), { status: 413 });
    chunks.push(chunk);
  }
  return parseJson(Buffer.concat(chunks), MAX_DEPTH);
}

/** Starts the sidecar for `gateway`. */
export async function startSidecar(gateway: Gateway, options: SidecarOptions): Promise<Sidecar> {
  if (options.socketRole !== undefined && (!('socket' in options.listen) || options.socketRole === 'main')) {
    throw new Error('socketRole is for a Unix socket only, and may not be main');
  }
  // A client can never be trusted process code: the same checks as a tokens file.
  const roleForToken = tokenMatcher(parseClients({ clients: options.clients }));
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method === 'GET' && req.url === '/v1/health') return reply(res, 200, { ok: true });
    const route = ROUTE.exec(req.url ?? '');
    if (route === null) return refusal(res, 404, 'not_found', 'Use POST /v1/operations/{operationId}.');
    if (req.method !== 'POST') return refusal(res, 405, 'method_not_allowed', 'Use POST.');
    const auth = req.headers.authorization;
    const role = auth === undefined ? options.socketRole : auth.startsWith('Bearer ') ? roleForToken(auth.slice(7)) : undefined;
    if (role === undefined) return refusal(res, 401, 'unauthorized', 'A valid client token is required.');
    if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
      return refusal(res, 415, 'unsupported_media_type', 'Send application/json.');
    }
    let body: unknown;
    try {
      body = await readJson(req, maxBodyBytes);
    } catch (error) {
      if ((error as { status?: number }).status === 413) return refusal(res, 413, 'too_large', 'The request body is too large.');
      if (isFailure(error)) return refusal(res, 400, 'malformed_json', 'The request body is not valid JSON.');
      throw error;
    }
    const { params, correlationId } = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    let operation: string;
    try {
      operation = decodeURIComponent(route[1]!);
    } catch {
      return refusal(res, 400, 'malformed_path', 'The operation id is not well-formed.');
    }
    // A client that hangs up ends its call as cancelled, freeing its role's slots at once.
    const hangUp = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) hangUp.abort();
    };
    res.once('close', onClose);
    const result = await gateway.call(operation, params, {
      caller: role,
      signal: hangUp.signal,
      ...(typeof correlationId === 'string' ? { correlationId } : {}),
    });
    res.off('close', onClose);
    if (!res.destroyed) reply(res, 200, result);
  };

  // A request has 30 s to arrive whole: a slow client cannot hold a connection and its buffered body for long.
  const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) refusal(res, 500, 'internal_error', 'The sidecar failed to handle the request.');
      else res.destroy();
    });
  });
  server.maxConnections = options.maxConnections ?? 128;
  const address = await listen(server, options.listen);
  return {
    address,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

async function listen(server: Server, where: SidecarOptions['listen']): Promise<string> {
  if ('socket' in where) {
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(where.socket, resolve));
    await chmod(where.socket, 0o600);
    return where.socket;
  }
  // Loopback only: a sidecar on a routable address would hand the gateway to the network.
  if (!isLoopbackAddress(where.host)) throw new Error('the sidecar listens on loopback only');
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(where.port, where.host, resolve));
  const { port } = server.address() as AddressInfo;
  return `http://${isIP(where.host) === 6 ? `[${where.host}]` : where.host}:${port}`;
}
