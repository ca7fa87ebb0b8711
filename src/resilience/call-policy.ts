/**
 * The shape of every resilience wrapper — cockatiel's `IPolicy.execute` — and their composition.
 * Cockatiel's own policies (the circuit breaker) fit it as they are; Gatehouse's wrappers
 * (limits, retries, connectivity) implement it so they compose the same way.
 * @see STYLE.md §8
 */
import type { IDefaultPolicyContext } from 'cockatiel';

/** Runs `fn` under some behaviour; `signal` is the call's signal (deadline, caller, close). */
export interface CallPolicy {
  execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T>;
}

/**
 * Composes policies like cockatiel's `wrap()`: the first is outermost. Absent entries (a limit
 * the policy does not set) are skipped.
 * @example wrapPolicies(rateLimit, concurrency, retry, breaker).execute(attempt, signal)
 */
export function wrapPolicies(...policies: readonly (CallPolicy | undefined)[]): CallPolicy {
  const chain = policies.filter((policy): policy is CallPolicy => policy !== undefined);
  return {
    execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
      const run = (index: number, context: IDefaultPolicyContext): Promise<T> =>
        index === chain.length
          ? Promise.resolve(fn(context))
          : chain[index]!.execute((next) => run(index + 1, next), context.signal);
      return run(0, { signal });
    },
  };
}
