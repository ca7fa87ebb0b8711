/**
 * Retries a call's attempts as {@link decideRetry} says, within the call's deadline and the
 * service's retry budget. The wait between attempts ends at once when the call's signal fires.
 * @see DESIGN.md §5 "Retries"
 */
import type { IDefaultPolicyContext } from 'cockatiel';
import { isFailure } from '../errors.ts';
import { sleep } from './abortable.ts';
import type { CallPolicy } from './call-policy.ts';
import { decideRetry, type RetrySettings } from './retry-decision.ts';
import type { RetryBudget } from './retry-budget.ts';

/** What one call's retries are bound by. */
export interface RetryPolicyOptions {
  /** Retries after the first attempt (`limits.retries`). */
  retries: number;
  /** The call's deadline on the `performance.now()` clock. */
  deadlineAt: number;
  budget: RetryBudget;
  settings: Readonly<RetrySettings>;
}

/** One call's retry loop; built per call because the deadline is per call. */
export class RetryPolicy implements CallPolicy {
  readonly #options: RetryPolicyOptions;

  constructor(options: RetryPolicyOptions) {
    this.#options = options;
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
    const { retries, deadlineAt, budget, settings } = this.#options;
    for (let retry = 1; ; retry += 1) {
      try {
        return await fn({ signal });
      } catch (error) {
        if (retry > retries || signal.aborted || !isFailure(error)) throw error;
        const remainingMs = deadlineAt - performance.now();
        const decision = decideRetry({ failure: error, retry, remainingMs, settings, random: Math.random() });
        if (!decision.retry || !budget.tryRetry()) throw error;
        await sleep(decision.delayMs, signal);
      }
    }
  }
}
