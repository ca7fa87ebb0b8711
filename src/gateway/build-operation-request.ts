/**
 * Builds the HTTP request of a named operation from validated params. Every path param becomes
 * exactly one percent-encoded segment, so no value can change host, port or the base path.
 * @see FR-02, SR-04, DESIGN.md §4.1, §5 "Paths"
 */
import { GatehouseFailure } from '../errors.ts';
import type { CompiledOperation } from '../policy/compiled.ts';
import { appendQuery, encodeSegment, headerText, jsonBody, jsonData } from './safe-values.ts';

/** The parts of a request that depend on the operation and its params; it goes to the service's origin. */
export interface BuiltRequest {
  /** Path and query: the service's base path, then what the operation adds. */
  readonly path: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

/**
 * The params as JSON data, validated against the operation's schema. They are read once, as JSON
 * (what the sidecar, the Electron bridge and the offline queue carry too), so a getter or a
 * Proxy can neither throw later nor show the request other values than the schema saw.
 * @throws GatehouseFailure `invalid_params` when they fail the schema, `unsafe_value` when they cannot be read as JSON
 */
export function validateParams(operation: CompiledOperation, params: unknown): Record<string, unknown> {
  const data = jsonData(params ?? {}, 'params');
  if (!operation.validateParams(data)) {
    // ajv's message names the failing keyword and location, never the value.
    const first = operation.validateParams.errors?.[0];
    const where = first ? `${first.instancePath || '/'} ${first.keyword}` : 'params';
    throw new GatehouseFailure('invalid_params', `params fail the schema at ${where}`);
  }
  return data as Record<string, unknown>;
}

/**
 * Expands path, query, header and body params into a request on the service's base URL, with the
 * caller's idempotency key (if any) as `Idempotency-Key`.
 */
export function buildOperationRequest(operation: CompiledOperation, params: Record<string, unknown>, idempotencyKey?: unknown): BuiltRequest {
  // The base path comes from a parsed URL and the template's literals are RFC 3986 `pchar` only
  // (policy/path-template.ts), so the string is already in the form a URL parser would give it.
  let path = operation.service.destination.basePath;
  const parts = operation.pathParts;
  for (let index = 0; index < parts.length; index++) {
    // pathParts alternate literal text and param names, starting with text.
    const part = parts[index] as string;
    path += index % 2 === 0 ? part : encodeSegment(params[part], `path param '${part}'`);
  }
  if (operation.query.length > 0) {
    const search = new URLSearchParams();
    for (const name of operation.query) appendQuery(search, name, params[name]);
    const query = search.toString();
    if (query !== '') path += `?${query}`;
  }

  const headers: Record<string, string> = {};
  for (const [header, name] of operation.headers) {
    if (params[name] !== undefined) headers[header] = headerText(params[name], `header param '${name}'`);
  }

  const value = operation.body === undefined ? undefined : params[operation.body];
  const body = value === undefined ? undefined : jsonBody(value, headers);
  if (idempotencyKey !== undefined) headers['idempotency-key'] = headerText(idempotencyKey, 'idempotency key');

  return { path, method: operation.method, headers, body };
}
