/**
 * Per-caller limits for roles other than `main`, so a buggy or compromised renderer looping on
 * calls is throttled (`rate_limited`/`local_limit`) while trusted process code is never held up
 * by it. Each role gets its own token bucket and in-flight cap, shared across services.
 * @see DESIGN.md §4.6, FR-08
 */
import type { RoleLimits } from '../policy/compiled.ts';
import { wrapPolicies, type CallPolicy } from './call-policy.ts';
import { ConcurrencyPolicy } from './concurrency-policy.ts';
import { RateLimitPolicy } from './rate-limit-policy.ts';
import { TokenBucket } from './token-bucket.ts';

const DEFAULT_RATE_PER_MINUTE = 600;
const DEFAULT_IN_FLIGHT = 32;

/** One policy per caller role, built on first use from the policy's `roles` (else the defaults). */
export class CallerLimits {
  readonly #roles: ReadonlyMap<string, RoleLimits>;
  readonly #byCaller = new Map<string, CallPolicy>();

  constructor(roles: ReadonlyMap<string, RoleLimits> = new Map()) {
    this.#roles = roles;
  }

  /** The policy for `caller`; none for the trusted `main`. */
  policyFor(caller: string, trusted: string): CallPolicy | undefined {
    if (caller === trusted) return undefined;
    let policy = this.#byCaller.get(caller);
    if (policy === undefined) {
      const what = `caller ${caller}`;
      const limits = this.#roles.get(caller);
      const rate = new TokenBucket(limits?.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE);
      policy = wrapPolicies(new RateLimitPolicy(rate, what), new ConcurrencyPolicy(limits?.inFlight ?? DEFAULT_IN_FLIGHT, 0, what));
      this.#byCaller.set(caller, policy);
    }
    return policy;
  }
}
