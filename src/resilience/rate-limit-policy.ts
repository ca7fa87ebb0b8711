/**
 * A call that finds no token in its bucket fails at once as `rate_limited`/`local_limit`, with
 * `retryAfterMs`, sending nothing.
 * @see DESIGN.md §5 "Limits"
 */
import type { IDefaultPolicyContext } from 'cockatiel';
import { GatehouseFailure } from '../errors.ts';
import type { CallPolicy } from './call-policy.ts';
import type { TokenBucket } from './token-bucket.ts';

/** Spends one token per call from a shared bucket. */
export class RateLimitPolicy implements CallPolicy {
  readonly #bucket: TokenBucket;
  readonly #what: string;

  /** `what` names the limit in the failure's developer detail (never shown to users). */
  constructor(bucket: TokenBucket, what: string) {
    this.#bucket = bucket;
    this.#what = what;
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
    const waitMs = this.#bucket.take();
    if (waitMs > 0) throw new GatehouseFailure('local_limit', `${this.#what} rate limit reached`, { retryAfterMs: waitMs });
    return fn({ signal });
  }
}
