/**
 * Per-caller limits for roles other than `main`, so a buggy or compromised renderer looping on
 * calls is throttled (`rate_limited`/`local_limit`) while trusted process code is never held up
 * by it. Each role gets its own token bucket and in-flight cap, shared across services.
 * @see DESIGN.md §4.6, FR-08
 */
import { wrapPolicies, type CallPolicy } from './call-policy.ts';
import { ConcurrencyPolicy } from './concurrency-policy.ts';
import { RateLimitPolicy } from './rate-limit-policy.ts';
import { TokenBucket } from './token-bucket.ts';

/** Limits of each non-`main` caller role. */
export interface CallerLimitSettings {
  /** Calls a minute per role (burst max(1, rate / 6)). @default 600 */
  ratePerMinute?: number;
  /** Calls of one role in flight at once; more fail at once. @default 32 */
  inFlight?: number;
}

/** One policy per caller role, built on first use. */
export class CallerLimits {
  readonly #ratePerMinute: number;
  readonly #inFlight: number;
  readonly #byCaller = new Map<string, CallPolicy>();

  constructor(settings: CallerLimitSettings = {}) {
    this.#ratePerMinute = settings.ratePerMinute ?? 600;
    this.#inFlight = settings.inFlight ?? 32;
  }

  /** The policy for `caller`; none for the trusted `main`. */
  policyFor(caller: string, trusted: string): CallPolicy | undefined {
    if (caller === trusted) return undefined;
    let policy = this.#byCaller.get(caller);
    if (policy === undefined) {
      const what = `caller ${caller}`;
      policy = wrapPolicies(new RateLimitPolicy(new TokenBucket(this.#ratePerMinute), what), new ConcurrencyPolicy(this.#inFlight, 0, what));
      this.#byCaller.set(caller, policy);
    }
    return policy;
  }
}
