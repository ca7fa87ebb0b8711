/**
 * Sends one request and follows redirects itself, checking every hop like a first request.
 * Credentials go only to the service's own origin and never after a cross-origin hop;
 * `https -> http` is refused; loops and chains past `maxRedirects` end the call.
 * @see FR-04, DESIGN.md §4.2, §5 "Reasons for refused hops"
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import { GatehouseFailure } from '../errors.ts';
import type { Destination } from '../policy/compiled.ts';
import { readBody } from './body.ts';
import { refuseDestination } from './destination.ts';

/** A request ready to leave: URL built and checked by the caller, headers final. */
export interface OutgoingRequest {
  readonly url: URL;
  readonly method: string;
  /** Non-secret headers, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Credential headers, sent only to the service's own origin. */
  readonly credentialHeaders: Readonly<Record<string, string>> | undefined;
  readonly body: Buffer | undefined;
}

/** How to send it. */
export interface SendOptions {
  readonly dispatcher: Dispatcher;
  readonly destination: Destination;
  readonly maxRedirects: number;
  readonly maxResponseBytes: number;
  /** Aborts on the caller's signal or the call's deadline. */
  readonly signal: AbortSignal;
  /** Deadline for response headers after the request is sent. */
  readonly headersTimeoutMs: number;
  /** Deadline between two body chunks. */
  readonly bodyTimeoutMs: number;
}

/** A final (non-redirect) answer. The body is read only for 2xx answers. */
export interface Received {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** Decoded body (2xx), or undefined for an error status. */
  readonly body: Buffer | undefined;
}

/** Counters the audit reports; updated as the exchange goes, so a failure keeps them. */
export interface TransferStats {
  /** Status of the last answer received, even when its body is then refused. */
  status: number | undefined;
  bytesIn: number;
  bytesOut: number;
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** How much of an error answer is drained so the connection can be reused. */
const ERROR_DRAIN_BYTES = 64 * 1024;

function nextHop(current: URL, location: string | string[] | undefined): URL {
  if (typeof location !== 'string' || location === '') {
    throw new GatehouseFailure('redirect_blocked', 'redirect without a single Location');
  }
  let next: URL;
  try {
    next = new URL(location, current);
  } catch {
    throw new GatehouseFailure('redirect_blocked', 'malformed redirect Location');
  }
  if (next.username !== '' || next.password !== '') {
    throw new GatehouseFailure('redirect_blocked', 'redirect Location carries credentials');
  }
  if (current.protocol === 'https:' && next.protocol !== 'https:') {
    throw new GatehouseFailure('redirect_blocked', 'redirect downgrades from https');
  }
  next.hash = '';
  // `API.test.` is `api.test`: compare and send to the normalised name (DESIGN §5 "Hosts and ports").
  if (next.hostname.endsWith('.')) next.hostname = next.hostname.slice(0, -1);
  return next;
}

function checkHop(url: URL, destination: Destination, isRedirect: boolean): void {
  const refusal = refuseDestination(url, destination);
  if (refusal === undefined) return;
  if (refusal === 'private_address') throw new GatehouseFailure('private_address', 'IP literal in a refused range');
  throw new GatehouseFailure(isRedirect ? 'redirect_blocked' : refusal, `destination refused: ${refusal}`);
}

/**
 * Sends `request`, following redirects within the service's destinations.
 * @throws GatehouseFailure for policy refusals and body limits; undici/Node errors as they come.
 */
export async function send(request: OutgoingRequest, options: SendOptions, stats: TransferStats): Promise<Received> {
  const { destination } = options;
  const home = destination.baseUrl.origin;
  let url = request.url;
  let method = request.method;
  let body = request.body;
  let baseHeaders = request.headers;
  let leftHome = false;
  // Hrefs of the hops so far; built at the first redirect (most calls have none).
  let visited: Set<string> | undefined;

  checkHop(url, destination, false);
  for (;;) {
    const origin = url.origin;
    leftHome ||= origin !== home;
    const headers =
      leftHome || request.credentialHeaders === undefined ? baseHeaders : { ...baseHeaders, ...request.credentialHeaders };
    const response = await options.dispatcher.request({
      origin,
      path: url.pathname + url.search,
      method: method as Dispatcher.HttpMethod,
      headers,
      body,
      signal: options.signal,
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs,
    });
    stats.bytesOut += body?.length ?? 0;
    const status = response.statusCode;
    stats.status = status;

    if (REDIRECTS.has(status)) {
      await response.body.dump({ limit: ERROR_DRAIN_BYTES }).catch(() => {});
      stats.redirects += 1;
      if (stats.redirects > options.maxRedirects) throw new GatehouseFailure('too_many_redirects', 'redirect chain too long');
      const next = nextHop(url, response.headers.location);
      checkHop(next, destination, true);
      visited ??= new Set<string>([url.href]);
      if (visited.has(next.href)) throw new GatehouseFailure('too_many_redirects', 'redirect loop');
      visited.add(next.href);
      // 303 always, and 301/302 after POST (as browsers do), continue as a body-less GET.
      if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        baseHeaders = Object.fromEntries(Object.entries(baseHeaders).filter(([name]) => name !== 'content-type'));
      }
      url = next;
      continue;
    }

    if (status >= 200 && status < 300 && (method === 'HEAD' || status === 204 || status === 205)) {
      // No body by definition, whatever Content-Length says.
      await response.body.dump({ limit: ERROR_DRAIN_BYTES }).catch(() => {});
      return { status, headers: response.headers, body: Buffer.alloc(0) };
    }
    if (status >= 200 && status < 300) {
      const { bytes } = await readBody(response.body, response.headers, { maxBytes: options.maxResponseBytes }, stats);
      return { status, headers: response.headers, body: bytes };
    }
    await response.body.dump({ limit: ERROR_DRAIN_BYTES }).catch(() => {});
    return { status, headers: response.headers, body: undefined };
  }
}
