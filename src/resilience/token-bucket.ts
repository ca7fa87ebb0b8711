/**
 * A token bucket: `ratePerMinute` tokens a minute, refilled continuously, holding at most a burst
 * of max(1, ratePerMinute / 6).
 * @see DESIGN.md §5 "Limits"
 */
import { GatehouseFailure } from '../errors.ts';

/** A token bucket on the monotonic clock. */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  #tokens: number;
  #updated: number;

  constructor(ratePerMinute: number, now = performance.now()) {
    this.#capacity = Math.max(1, Math.floor(ratePerMinute / 6));
    this.#perMs = ratePerMinute / 60_000;
    this.#tokens = this.#capacity;
    this.#updated = now;
  }

  /** Takes a token: returns 0 when one was there, else the milliseconds until one will be. */
  take(now = performance.now()): number {
    this.#tokens = Math.min(this.#capacity, this.#tokens + (now - this.#updated) * this.#perMs);
    this.#updated = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.#tokens) / this.#perMs));
  }
}

/**
 * Spends a token of `bucket`; `what` names the limit in the failure's developer detail.
 * @throws GatehouseFailure `local_limit` with `retryAfterMs` when the bucket is empty.
 */
export function takeToken(bucket: TokenBucket, what: string): void {
  const waitMs = bucket.take();
  if (waitMs > 0) throw new GatehouseFailure('local_limit', `${what} rate limit reached`, { retryAfterMs: waitMs });
}
