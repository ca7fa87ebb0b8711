/**
 * At most `limit` calls at once; excess calls wait in a bounded queue within their deadline,
 * else they fail as `rate_limited`/`local_limit`. A waiting call whose caller aborts leaves the
 * queue at once. Unlike cockatiel's bulkhead, a waiter never outlives its signal.
 * @see DESIGN.md §5 "Limits"
 */
import { GatehouseFailure } from '../errors.ts';
import type { CallControl } from './call-control.ts';

interface Waiter {
  resolve(): void;
}

/** A concurrency limit with a bounded, abort-aware wait queue. */
export class ConcurrencyLimit {
  readonly #limit: number;
  readonly #queueSize: number;
  readonly #what: string;
  readonly #waiters = new Set<Waiter>();
  #active = 0;

  /** `queueSize` 0 refuses every call beyond `limit` at once; `what` names it in developer details. */
  constructor(limit: number, queueSize: number, what: string) {
    this.#limit = limit;
    this.#queueSize = queueSize;
    this.#what = what;
  }

  /**
   * Takes a slot: undefined when one was free, else a promise settled when one is handed over.
   * Every slot taken is given back with {@link release}.
   * @throws GatehouseFailure `local_limit` when no slot is free and the queue is full.
   */
  acquire(call: CallControl): Promise<void> | undefined {
    if (this.tryAcquire()) return undefined;
    if (this.#waiters.size >= this.#queueSize) throw new GatehouseFailure('local_limit', `${this.#what} concurrency queue is full`);
    return this.#wait(call.signal);
  }

  /** Takes a slot if one is free, without waiting. */
  tryAcquire(): boolean {
    if (this.#active >= this.#limit) return false;
    this.#active += 1;
    return true;
  }

  /** Gives a slot back, to the longest waiter if there is one. */
  release(): void {
    const next = this.#waiters.values().next();
    if (next.done === true) {
      this.#active -= 1;
      return;
    }
    this.#waiters.delete(next.value);
    next.value.resolve();
  }

  /** Waits for a slot that `release` hands over (the active count stays as it is). */
  #wait(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason as Error);
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
}
