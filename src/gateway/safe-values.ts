/**
 * Checks for values that become part of a request line or header.
 * @see SR-04, DESIGN.md §5 "Paths"
 */
import { GatehouseFailure } from '../errors.ts';

// CR, LF and NUL split or truncate request lines and headers; other C0 controls have no place there either.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** A primitive param value as text, refusing objects and control characters. */
function scalarText(value: unknown, what: string): string {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
    throw new GatehouseFailure('unsafe_value', `${what} must be a string, number or boolean`);
  }
  const text = String(value);
  if (CONTROL.test(text)) throw new GatehouseFailure('unsafe_value', `${what} contains a control character`);
  return text;
}

/** A header value: a scalar whose characters are all Latin-1 and not control characters (RFC 9110 §5.5). */
export function headerText(value: unknown, what: string): string {
  const text = scalarText(value, what);
  if (/[^\u0020-\u00ff\t]/.test(text)) throw new GatehouseFailure('unsafe_value', `${what} has a character headers cannot carry`);
  return text;
}

/** One path segment: exactly one percent-encoded segment, never `.`, `..` or empty. */
export function encodeSegment(value: unknown, what: string): string {
  const text = scalarText(value, what);
  if (text === '' || text === '.' || text === '..') throw new GatehouseFailure('unsafe_value', `${what} is not a path segment`);
  try {
    return encodeURIComponent(text);
  } catch {
    throw new GatehouseFailure('unsafe_value', `${what} is not well-formed Unicode`);
  }
}

/** Appends query values (a scalar or an array of scalars) under `name`. */
export function appendQuery(search: URLSearchParams, name: string, value: unknown): void {
  if (value === undefined) return;
  for (const item of Array.isArray(value) ? value : [value]) search.append(name, scalarText(item, `query '${name}'`));
}

/**
 * A caller's value as JSON text (undefined for a lone function or `undefined`).
 * @throws GatehouseFailure `unsafe_value` when it cannot be written as JSON (a cycle, a BigInt, a
 *   getter or Proxy trap that throws); the error's message, which could quote a value, is dropped.
 */
function jsonText(value: unknown, what: string): string | undefined {
  try {
    return JSON.stringify(value);
  } catch {
    throw new GatehouseFailure('unsafe_value', `${what} cannot be written as JSON`);
  }
}

/**
 * A caller's value as JSON data, each property read once: a getter or a Proxy can neither throw
 * later nor show a later check other values than an earlier one saw.
 * @throws GatehouseFailure `unsafe_value` when it cannot be written as JSON
 */
export function jsonData(value: unknown, what: string): unknown {
  const text = jsonText(value, what);
  return text === undefined ? undefined : JSON.parse(text);
}

/** Serialises a JSON request body and sets its content type. */
export function jsonBody(value: unknown, headers: Record<string, string>): Buffer {
  const text = jsonText(value, 'body');
  if (text === undefined) throw new GatehouseFailure('unsafe_value', 'body cannot be written as JSON');
  headers['content-type'] = 'application/json';
  return Buffer.from(text);
}
