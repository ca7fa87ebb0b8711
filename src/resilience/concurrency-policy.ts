/**
 * At most `limit` calls at once; excess calls wait in a bounded queue within their deadline,
 * else they fail as `rate_limited`/`local_limit`. A waiting call whose caller aborts leaves the
 * queue at once. Unlike cockatiel's bulkhead, a waiter never outlives its signal.
 * @see DESIGN.md §5 "Limits"
 */
import type { IDefaultPolicyContext } from 'cockatiel';
import { GatehouseFailure } from '../errors.ts';
import type { CallPolicy } from './call-policy.ts';

interface Waiter {
  resolve(): void;
}

/** A concurrency limit with a bounded, abort-aware wait queue. */
export class ConcurrencyPolicy implements CallPolicy {
  readonly #limit: number;
  readonly #queueSize: number;
  readonly #what: string;
  readonly #waiters = new Set<Waiter>();
  #active = 0;

  /** `queueSize` 0 refuses every call beyond `limit` at once. */
  constructor(limit: number, queueSize: number, what: string) {
    this.#limit = limit;
    this.#queueSize = queueSize;
    this.#what = what;
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
    if (signal.aborted) throw signal.reason;
    if (this.#active < this.#limit) this.#active += 1;
    else await this.#wait(signal);
    try {
      return await fn({ signal });
    } finally {
      this.#release();
    }
  }

  /** Waits for a slot that `#release` hands over (the active count stays as it is). */
  #wait(signal: AbortSignal): Promise<void> {
    if (this.#waiters.size >= this.#queueSize) {
      return Promise.reject(new GatehouseFailure('local_limit', `${this.#what} concurrency queue is full`));
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#waiters.delete(waiter);
        // The deadline passing while waiting is the limit's doing; a caller abort or close is not.
        const reason = signal.reason as { name?: unknown } | undefined;
        reject(reason?.name === 'TimeoutError' ? new GatehouseFailure('local_limit', `${this.#what} concurrency wait passed the deadline`) : reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  #release(): void {
    const next = this.#waiters.values().next();
    if (next.done === true) {
      this.#active -= 1;
      return;
    }
    this.#waiters.delete(next.value);
    next.value.resolve();
  }
}
