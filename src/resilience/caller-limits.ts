/**
 * Per-caller limits for roles other than `main`, so a buggy or compromised renderer looping on
 * calls is throttled (`rate_limited`/`local_limit`) while trusted process code is never held up
 * by it. Each role gets its own token bucket and in-flight cap, shared across services.
 * @see DESIGN.md §4.6, FR-08
 */
import { GatehouseFailure } from '../errors.ts';
import type { RoleLimits } from '../policy/compiled.ts';
import { ConcurrencyLimit } from './concurrency-limit.ts';
import { TokenBucket, takeToken } from './token-bucket.ts';

const DEFAULT_RATE_PER_MINUTE = 600;
const DEFAULT_IN_FLIGHT = 32;

/** One role's limits. */
interface RoleState {
  readonly rate: TokenBucket;
  readonly inFlight: ConcurrencyLimit;
  readonly what: string;
}

/** Each role's token bucket and in-flight cap, built on first use from the policy's `roles` (else the defaults). */
export class CallerLimits {
  readonly #roles: ReadonlyMap<string, RoleLimits>;
  readonly #byCaller = new Map<string, RoleState>();

  constructor(roles: ReadonlyMap<string, RoleLimits> = new Map()) {
    this.#roles = roles;
  }

  /**
   * Admits one call of `caller` (never waits): spends a token and takes an in-flight slot, which
   * the caller gives back with `release()`.
   * @throws GatehouseFailure `local_limit` when the role is over its rate or in-flight cap.
   */
  admit(caller: string): ConcurrencyLimit {
    let state = this.#byCaller.get(caller);
    if (state === undefined) {
      const limits = this.#roles.get(caller);
      const what = `caller ${caller}`;
      state = { rate: new TokenBucket(limits?.ratePerMinute ?? DEFAULT_RATE_PER_MINUTE), inFlight: new ConcurrencyLimit(limits?.inFlight ?? DEFAULT_IN_FLIGHT, 0, what), what };
      this.#byCaller.set(caller, state);
    }
    takeToken(state.rate, state.what);
    if (!state.inFlight.tryAcquire()) throw new GatehouseFailure('local_limit', `${state.what} has too many calls in flight`);
    return state.inFlight;
  }
}
