/**
 * Sends one request and follows redirects itself, checking every hop like a first request.
 * Credentials go only to the service's own origin and never after a cross-origin hop;
 * `https -> http` is refused; loops and chains past `maxRedirects` end the call.
 * @see FR-04, DESIGN.md §4.2, §5 "Reasons for refused hops"
 */
import type { Dispatcher } from 'undici';
import { GatehouseFailure } from '../errors.ts';
import type { Destination } from '../policy/compiled.ts';
import { refuseDestination } from './destination.ts';
import { requestOnce, type Answer, type AnswerMeter, type RequestOnceOptions } from './request-once.ts';

/** A request ready to leave, on the service's own origin: path built and checked by the caller, headers final. */
export interface OutgoingRequest {
  /** Path and query under the service's base URL. */
  readonly path: string;
  readonly method: string;
  /** Headers, lower-case names, the credential's included. */
  readonly headers: Readonly<Record<string, string>>;
  /** The credential's headers among them: sent only to the service's own origin. */
  readonly credentialHeaders: Readonly<Record<string, string>> | undefined;
  readonly body: Buffer | undefined;
}

/** How to send it: the limits of each request, and where it may go. */
export interface SendOptions extends RequestOnceOptions {
  readonly dispatcher: Dispatcher;
  readonly destination: Destination;
  readonly maxRedirects: number;
}

/** A final (non-redirect) answer: one request's answer, the body read only for 2xx. */
export type Received = Answer;

/** Counters the audit reports; updated as the exchange goes, so a failure keeps them. */
export interface TransferStats extends AnswerMeter {
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

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

function withoutHeaders(headers: Readonly<Record<string, string>>, drop: (name: string) => boolean): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !drop(name)));
}

/** A redirect's target must be a destination of the service, like a first request. */
function checkHop(url: URL, destination: Destination): void {
  const refusal = refuseDestination(url, destination);
  if (refusal === undefined) return;
  if (refusal === 'private_address') throw new GatehouseFailure('private_address', 'IP literal in a refused range');
  throw new GatehouseFailure('redirect_blocked', `destination refused: ${refusal}`);
}

/**
 * Sends `request`, following redirects within the service's destinations.
 * @throws GatehouseFailure for policy refusals and body limits; undici/Node errors as they come.
 */
export async function send(request: OutgoingRequest, options: SendOptions, stats: TransferStats): Promise<Received> {
  const { destination } = options;
  const home = destination.origin;
  let origin = home;
  let path = request.path;
  let method = request.method;
  let body = request.body;
  let headers = request.headers;
  let leftHome = false;
  let hops = 0;
  // Hrefs of the hops so far; built at the first redirect (most calls have none).
  let visited: Set<string> | undefined;

  for (;;) {
    // Credentials go home only, and never after the chain has left home once.
    if (!leftHome && origin !== home) {
      leftHome = true;
      const credential = request.credentialHeaders ?? {};
      headers = withoutHeaders(headers, (name) => Object.hasOwn(credential, name));
    }
    const answer = await requestOnce(options.dispatcher, { origin, path, method, headers, body }, options, stats);
    if (!REDIRECTS.has(answer.status)) return answer;

    hops += 1;
    stats.redirects += 1; // over the whole call, for the audit; the limit is per chain
    if (hops > options.maxRedirects) throw new GatehouseFailure('too_many_redirects', 'redirect chain too long');
    const current = new URL(origin + path); // not new URL(path, origin): a path may start with //
    const next = nextHop(current, answer.headers.location);
    checkHop(next, destination);
    visited ??= new Set<string>([current.href]);
    if (visited.has(next.href)) throw new GatehouseFailure('too_many_redirects', 'redirect loop');
    visited.add(next.href);
    // 303 always, and 301/302 after POST (as browsers do), continue as a body-less GET.
    if (answer.status === 303 || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
      method = 'GET';
      body = undefined;
      headers = withoutHeaders(headers, (name) => name === 'content-type');
    }
    origin = next.origin;
    path = next.pathname + next.search;
  }
}
