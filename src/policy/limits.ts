/**
 * Effective limits: built-in defaults, then `defaults`, then the service, then the operation
 * (the most specific wins). `retries` next to `limits` is shorthand for `limits.retries`.
 * @see DESIGN.md §5 "Limits", "Retries"
 */
import type { Limits } from './compiled.ts';
import type { LimitsInput } from './schema.ts';
import type { IssuePath, ReportIssue } from './policy-error.ts';

/** Built-in defaults (see the TSDoc of {@link Limits}); `connectTimeoutMs` is derived. */
const DEFAULT_LIMITS = Object.freeze({
  timeoutMs: 15_000,
  maxConnectTimeoutMs: 10_000,
  maxResponseBytes: 1_048_576,
  maxRedirects: 3,
  maxJsonDepth: 64,
  retries: 2,
  queueTtlMs: 86_400_000,
});

/**
 * Folds a level's `limits` and `retries` shorthand into one partial; reports `retries` given twice.
 * @internal
 */
export function levelLimits(
  limits: LimitsInput | undefined,
  retries: number | undefined,
  path: IssuePath,
  report: ReportIssue,
): LimitsInput {
  if (retries !== undefined && limits?.retries !== undefined) {
    report([...path, 'retries'], 'is given twice: use either retries or limits.retries');
  }
  return retries === undefined ? { ...limits } : { ...limits, retries };
}

/**
 * Merges partial limits, least specific first, and fills the built-in defaults. A connect
 * timeout is never longer than the whole-call deadline.
 */
export function mergeLimits(...levels: readonly LimitsInput[]): Limits {
  const merged: LimitsInput = {};
  for (const level of levels) {
    for (const [key, value] of Object.entries(level) as [keyof LimitsInput, number | undefined][]) {
      if (value !== undefined) merged[key] = value;
    }
  }
  const timeoutMs = merged.timeoutMs ?? DEFAULT_LIMITS.timeoutMs;
  return Object.freeze({
    timeoutMs,
    connectTimeoutMs: Math.min(merged.connectTimeoutMs ?? DEFAULT_LIMITS.maxConnectTimeoutMs, timeoutMs),
    headersTimeoutMs: merged.headersTimeoutMs,
    idleTimeoutMs: merged.idleTimeoutMs,
    maxResponseBytes: merged.maxResponseBytes ?? DEFAULT_LIMITS.maxResponseBytes,
    maxRedirects: merged.maxRedirects ?? DEFAULT_LIMITS.maxRedirects,
    maxJsonDepth: merged.maxJsonDepth ?? DEFAULT_LIMITS.maxJsonDepth,
    retries: merged.retries ?? DEFAULT_LIMITS.retries,
    concurrency: merged.concurrency,
    ratePerMinute: merged.ratePerMinute,
    queueTtlMs: merged.queueTtlMs ?? DEFAULT_LIMITS.queueTtlMs,
  });
}
