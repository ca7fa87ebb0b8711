/**
 * Whether and when a failed attempt is tried again: a pure decision (no clock, no I/O).
 *
 * Retried: `connection_error`, a per-attempt `timeout` (connect, headers, body), 429, 502, 503,
 * 504. Backoff is exponential with full jitter; an upstream `Retry-After` replaces it when it is
 * within `maxRetryAfterMs`; a wait that would not leave `minAttemptMs` before the deadline ends
 * the call with the failure it has (a `Retry-After` beyond the deadline keeps its `retryAfterMs`).
 * @see DESIGN.md §5 "Retries"
 */
import type { GatehouseFailure } from '../errors.ts';

/** Timing of retries. */
export interface RetrySettings {
  /** First backoff ceiling; doubled each retry. @default 200 */
  baseDelayMs: number;
  /** Largest backoff ceiling. @default 5000 */
  maxDelayMs: number;
  /** Longest upstream `Retry-After` honoured; a longer one ends the call. @default 30000 */
  maxRetryAfterMs: number;
  /** Time an attempt must have left before the deadline to be worth starting. @default 50 */
  minAttemptMs: number;
}

/** The built-in retry timing. */
export const DEFAULT_RETRY_SETTINGS: Readonly<RetrySettings> = Object.freeze({
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 30_000,
  minAttemptMs: 50,
});

const RETRIED_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Whether this failure class may be retried at all (idempotency is checked elsewhere). */
export function isRetriedFailure(failure: GatehouseFailure): boolean {
  if (failure.kind === 'connection_error') return true;
  if (failure.kind === 'timeout') return failure.reason !== 'deadline';
  return failure.status !== undefined && RETRIED_STATUSES.has(failure.status);
}

/** What {@link decideRetry} needs to know. */
export interface RetryInput {
  failure: GatehouseFailure;
  /** 1 for the first retry. */
  retry: number;
  /** Milliseconds left before the call's deadline. */
  remainingMs: number;
  settings: Readonly<RetrySettings>;
  /** A number in [0, 1); `Math.random` in production. */
  random: number;
}

/** Retry after `delayMs`, or stop and return the failure as it is. */
export type RetryDecision = { retry: true; delayMs: number } | { retry: false };

/** Decides one retry. */
export function decideRetry(input: RetryInput): RetryDecision {
  const { failure, settings } = input;
  if (!isRetriedFailure(failure)) return { retry: false };
  let delayMs: number;
  if (failure.retryAfterMs !== undefined) {
    if (failure.retryAfterMs > settings.maxRetryAfterMs) return { retry: false };
    delayMs = failure.retryAfterMs;
  } else {
    const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (input.retry - 1));
    delayMs = Math.floor(input.random * ceiling);
  }
  if (delayMs + settings.minAttemptMs > input.remainingMs) return { retry: false };
  return { retry: true, delayMs };
}
