/**
 * Builds a trusted `request()` call and matches it against the service's `requests` rules.
 * @see DESIGN.md §4.3, §5 "Paths"
 */
import { GatehouseFailure } from '../errors.ts';
import type { CompiledService, RequestRule } from '../policy/compiled.ts';
import { isReservedHeader } from '../policy/operation.ts';
import type { BuiltRequest } from './build-operation-request.ts';
import { appendQuery, headerText, jsonBody } from './safe-values.ts';

/** What trusted process code may ask of a service. */
export interface TrustedRequest {
  /** @default 'GET' */
  method?: string;
  /** Relative to the service's base path, e.g. `/status`. */
  path: string;
  query?: Record<string, unknown>;
  /** Extra non-secret headers; hop-by-hop, host, cookie and auth headers are refused. */
  headers?: Record<string, string>;
  /** Sent as a JSON body. */
  json?: unknown;
  /** Shortens (never lengthens) the policy's deadline. */
  timeoutMs?: number;
  /** Sent as `Idempotency-Key`; makes the call retryable. */
  idempotencyKey?: string;
}

const PATH = /^(?:\/[A-Za-z0-9\-._~!$&'()*+,;=:@%]*)+$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Splits and checks a request path: no empty or dot segments, no encoded separators, no query or
 * fragment. `/` is the base path itself (no segments).
 */
function pathSegments(path: unknown): string[] {
  if (typeof path !== 'string' || !PATH.test(path)) throw new GatehouseFailure('path_not_allowed', 'path is not a plain absolute path');
  if (path === '/') return [];
  const segments = path.slice(1).split('/');
  for (const segment of segments) {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new GatehouseFailure('path_not_allowed', 'path has a malformed escape');
    }
    // An empty segment (`//x`, `/items/`) reads as a scheme-relative URL or another resource upstream;
    // servlet containers drop a segment's `;parameters` before resolving dots (`..;x` is `..`).
    const name = decoded.split(';', 1)[0];
    // eslint-disable-next-line no-control-regex
    if (name === '' || name === '.' || name === '..' || /[/\\\u0000-\u001f]/.test(decoded)) {
      throw new GatehouseFailure('path_not_allowed', 'path has an empty or dot segment, or an encoded separator');
    }
  }
  return segments;
}

function ruleMatches(rule: RequestRule, segments: readonly string[]): boolean {
  const last = rule.segments.length - 1;
  if (rule.segments[last] === '**') {
    if (segments.length < last) return false;
  } else if (segments.length !== rule.segments.length) {
    return false;
  }
  for (let i = 0; i < rule.segments.length; i += 1) {
    const expected = rule.segments[i];
    if (expected === '**') return true;
    if (expected !== '*' && expected !== segments[i]) return false;
  }
  return true;
}

/** The rule allowing `method` on `path`, or the reason there is none. */
function matchRequestRule(
  service: CompiledService,
  method: string,
  segments: readonly string[],
): RequestRule | 'method_not_allowed' | 'path_not_allowed' {
  let pathMatched = false;
  for (const rule of service.requests) {
    if (!ruleMatches(rule, segments)) continue;
    if (rule.methods.has(method)) return rule;
    pathMatched = true;
  }
  return pathMatched ? 'method_not_allowed' : 'path_not_allowed';
}

function plainObject(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GatehouseFailure('unsafe_value', `${what} must be an object`);
  return value as Record<string, unknown>;
}

/** Checks a trusted request (read as JSON data, see `jsonData`) against the service's rules and builds it. */
export function buildTrustedRequest(
  service: CompiledService,
  request: Partial<TrustedRequest>,
): BuiltRequest & { rule: RequestRule } {
  if (request.method !== undefined && typeof request.method !== 'string') throw new GatehouseFailure('method_not_allowed', 'method is not a string');
  const method = (request.method ?? 'GET').toUpperCase();
  const segments = pathSegments(request.path);
  const rule = matchRequestRule(service, method, segments);
  if (typeof rule === 'string') throw new GatehouseFailure(rule, `no requests rule allows this ${rule === 'method_not_allowed' ? 'method' : 'path'}`);

  const { origin, basePath } = service.destination;
  const url = new URL(origin + basePath + (request.path as string));
  if (request.query !== undefined) {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(plainObject(request.query, 'query'))) appendQuery(search, name, value);
    url.search = search.toString();
  }

  const credentialHeader = service.credential?.type === 'apiKey' ? service.credential.header : undefined;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(plainObject(request.headers ?? {}, 'headers'))) {
    const lower = name.toLowerCase();
    if (!TOKEN.test(name) || isReservedHeader(lower) || lower === credentialHeader) {
      throw new GatehouseFailure('forbidden_header', 'a header name is reserved or malformed');
    }
    headers[lower] = headerText(value, 'header value');
  }
  if (request.idempotencyKey !== undefined) headers['idempotency-key'] = headerText(request.idempotencyKey, 'idempotency key');

  const body = request.json === undefined ? undefined : jsonBody(request.json, headers);
  if (url.origin !== origin) throw new GatehouseFailure('path_not_allowed', 'path leaves the service origin');
  return { path: url.pathname + url.search, method, headers, body, rule };
}
