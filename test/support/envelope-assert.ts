/**
 * Assertions on error envelopes (DESIGN.md §2 "Error envelope", §5 "Retryable"; UXR-01): exact
 * kind, reason, retryable and status, and a user message that is generic — the same text for the
 * same kind, and free of URLs, hosts, ports, paths, values and secrets.
 */
import assert from 'node:assert/strict';
import type { CallResult, ErrorKind, GatewayError } from '../../src/index.ts';

/** What a failed call must say. `retryAfterMs` may be a number or a [min, max] range. */
export interface ExpectedError {
  kind: ErrorKind;
  reason?: string | readonly string[];
  retryable: boolean;
  status?: number;
  retryAfterMs?: number | readonly [number, number];
}

/** Kinds whose `retryable` is true (DESIGN.md §5 "Retryable"). */
export const RETRYABLE_KINDS: ReadonlySet<ErrorKind> = new Set([
  'offline',
  'timeout',
  'connection_error',
  'rate_limited',
  'service_unavailable',
]);

/** Collects messages per kind across a file, to prove one generic text per kind. */
export class MessageBook {
  readonly #byKind = new Map<ErrorKind, Set<string>>();

  record(error: GatewayError): void {
    let messages = this.#byKind.get(error.kind);
    if (messages === undefined) {
      messages = new Set();
      this.#byKind.set(error.kind, messages);
    }
    messages.add(error.message);
  }

  /** Kinds seen with more than one distinct message. */
  inconsistent(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [kind, messages] of this.#byKind) if (messages.size > 1) out[kind] = [...messages];
    return out;
  }

  get size(): number {
    return this.#byKind.size;
  }
}

/**
 * Asserts `result` is a failure matching `expected`, and that its message leaks none of `leaks`
 * (hosts, ports, paths, param values, header values, secrets). Returns the error.
 */
export function expectFailure(
  result: CallResult,
  expected: ExpectedError,
  options: { leaks?: readonly string[]; book?: MessageBook } = {},
): GatewayError {
  assert.equal(result.ok, false, `expected a failure, got ${safeStringify(result)}`);
  assert.ok(!result.ok);
  const { error } = result;
  const shown = safeStringify(error);
  assert.equal(error.kind, expected.kind, shown);
  if (expected.reason !== undefined) {
    if (typeof expected.reason === 'string') assert.equal(error.reason, expected.reason, shown);
    else assert.ok(expected.reason.includes(String(error.reason)), `reason ${String(error.reason)} not in ${expected.reason.join('|')}: ${shown}`);
  }
  assert.equal(error.retryable, expected.retryable, shown);
  assert.equal(error.retryable, RETRYABLE_KINDS.has(error.kind), `retryable does not follow the kind: ${shown}`);
  if ('status' in expected) assert.equal(error.status, expected.status, shown);
  if (expected.retryAfterMs !== undefined) {
    if (typeof expected.retryAfterMs === 'number') assert.equal(error.retryAfterMs, expected.retryAfterMs, shown);
    else {
      const [min, max] = expected.retryAfterMs;
      assert.ok(typeof error.retryAfterMs === 'number' && error.retryAfterMs >= min && error.retryAfterMs <= max, shown);
    }
  }
  assertGenericMessage(error, options.leaks ?? []);
  options.book?.record(error);
  return error;
}

/** The message is short plain text with no URL, address, path or any of `leaks`. */
export function assertGenericMessage(error: GatewayError, leaks: readonly string[]): void {
  const { message } = error;
  assert.equal(typeof message, 'string');
  assert.ok(message.length > 0 && message.length < 300, `message length: ${message}`);
  assert.doesNotMatch(message, /https?:|:\/\/|\b\d{1,3}(?:\.\d{1,3}){3}\b|::1|\.test\b|\/v1|\bat \S+:\d+/i, `message leaks: ${message}`);
  assert.doesNotMatch(message, /\b\d{4,5}\b/, `message carries a number (port?): ${message}`);
  for (const leak of leaks) {
    if (leak !== '') assert.ok(!message.includes(leak), `message leaks ${JSON.stringify(leak)}: ${message}`);
  }
}

/** JSON.stringify that survives BigInt and cycles (for assertion messages). */
export function safeStringify(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (typeof v === 'object' && v !== null) {
        if (seen.has(v)) return '[cycle]';
        seen.add(v);
      }
      return v;
    });
  } catch {
    return String(value);
  }
}

/** What a failed assertion may print of a result: its outcome only, never data that could echo a value or credential. */
export function outcomeOf(result: { ok: boolean; error?: { kind: string; reason?: string } }): string {
  return result.ok ? 'ok' : `${result.error?.kind}/${result.error?.reason}`;
}
