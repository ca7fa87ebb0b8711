/**
 * One signal per call that fires on the call's deadline, the caller's abort or the gateway's
 * close, and remembers which, so the failure is classified as `timeout` or `cancelled`.
 *
 * This is the hot path of every call, so nothing is built that the call may not need:
 * - deadlines share one timer per timeout length ({@link CallRegistry}): calls of one length end
 *   in the order they start, so a linked list keeps them sorted, and a call joins and leaves it
 *   in constant time, without a timer of its own;
 * - the gateway ends its calls on close through the same registry, not through one shared
 *   signal whose listener list every call would join and leave;
 * - the request on the wire registers a plain function ({@link CallSignal.onAbort}), and an
 *   `AbortSignal` is made only when some step asks for one (a token fetch, a wait for a limit or
 *   a retry).
 * @see FR-05, UXR-02
 */

import { GatehouseFailure } from '../errors.ts';

/** What ended a call early. */
export type AbortCause = 'deadline' | 'caller' | 'closed';

/** The calls in progress, each ended at its deadline; one timer per timeout length. */
export class CallRegistry {
  readonly #queues = new Map<number, DeadlineQueue>();

  /**
   * Starts a call's clock; a caller signal that is already aborted ends it at once.
   * Call `dispose()` on the result when the call ends.
   * @throws GatehouseFailure `unsafe_value` when `callerSignal` is not an AbortSignal (before anything starts).
   */
  start(timeoutMs: number, callerSignal: AbortSignal | undefined): CallSignal {
    if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
      throw new GatehouseFailure('unsafe_value', 'signal is not an AbortSignal');
    }
    let queue = this.#queues.get(timeoutMs);
    if (queue === undefined) {
      // Dropped once empty: `request()` callers may ask for any length, and a kept queue per length would add up.
      queue = new DeadlineQueue(timeoutMs, () => this.#queues.delete(timeoutMs));
      this.#queues.set(timeoutMs, queue);
    }
    return new CallSignal(queue, callerSignal);
  }

  /** How many timeout lengths have calls in progress. */
  get lengths(): number {
    return this.#queues.size;
  }

  /** Ends every call in progress with `cause`. */
  abortAll(cause: AbortCause): void {
    // Listed first: ending one call may end others, which then leave their queue.
    const calls: CallSignal[] = [];
    for (const queue of this.#queues.values()) {
      for (let call = queue.first; call !== undefined; call = call.next) calls.push(call);
    }
    for (const call of calls) call.abort(cause);
  }
}

/**
 * The calls of one timeout length, oldest (so soonest due) first, and the one timer that ends
 * them: armed for the first call's deadline, and checked again when it fires, since the calls
 * before it may have ended by then. No timer runs while the queue is empty.
 */
class DeadlineQueue {
  readonly timeoutMs: number;
  first: CallSignal | undefined;
  last: CallSignal | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #onEmpty: () => void;

  constructor(timeoutMs: number, onEmpty: () => void) {
    this.timeoutMs = timeoutMs;
    this.#onEmpty = onEmpty;
  }

  add(call: CallSignal): void {
    call.previous = this.last;
    if (this.last === undefined) this.first = call;
    else this.last.next = call;
    this.last = call;
    this.#timer ??= setTimeout(() => this.#expire(), this.timeoutMs);
  }

  remove(call: CallSignal): void {
    if (call.previous === undefined) this.first = call.next;
    else call.previous.next = call.next;
    if (call.next === undefined) this.last = call.previous;
    else call.next.previous = call.previous;
    call.previous = undefined;
    call.next = undefined;
    if (this.first === undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#onEmpty();
    }
  }

  #expire(): void {
    this.#timer = undefined;
    const now = performance.now();
    try {
      for (let call = this.first; call !== undefined && call.deadlineAt <= now; call = this.first) call.expire();
    } finally {
      // Armed again for the first call left, whatever the calls' ends did: one may have started a
      // call of this length (which armed the timer for that call) or thrown. Node's timers count
      // whole milliseconds of the loop's clock, so one may fire a little early.
      clearTimeout(this.#timer);
      const first = this.first;
      this.#timer = first === undefined ? undefined : setTimeout(() => this.#expire(), Math.max(1, Math.ceil(first.deadlineAt - now)));
    }
  }
}

/** A call's combined abort signal, made by {@link CallRegistry.start}. Call `dispose()` when the call ends. */
export class CallSignal {
  /** When the deadline falls, on the `performance.now()` clock. */
  readonly deadlineAt: number;
  /** @internal Neighbours in the deadline queue. */
  previous: CallSignal | undefined;
  /** @internal */
  next: CallSignal | undefined;
  #queue: DeadlineQueue | undefined;
  #fired: AbortCause | undefined;
  #reason: DOMException | undefined;
  #controller: AbortController | undefined;
  #hook: ((reason: DOMException) => void) | undefined;
  #racer: ((reason: DOMException) => void) | undefined;
  readonly #caller: AbortSignal | undefined;
  readonly #onCaller: (() => void) | undefined;

  /** @internal Use {@link CallRegistry.start}. */
  constructor(queue: DeadlineQueue, callerSignal: AbortSignal | undefined) {
    this.deadlineAt = performance.now() + queue.timeoutMs;
    this.#queue = queue;
    queue.add(this);
    this.#caller = callerSignal;
    if (callerSignal === undefined) return;
    if (callerSignal.aborted) {
      this.abort('caller');
      return;
    }
    this.#onCaller = () => this.abort('caller');
    callerSignal.addEventListener('abort', this.#onCaller, { once: true });
  }

  /** Which cause fired, once one has. */
  get fired(): AbortCause | undefined {
    return this.#fired;
  }

  /** The reason the call ended early (a `TimeoutError` or `AbortError` DOMException), once it has. */
  get reason(): DOMException | undefined {
    return this.#reason;
  }

  /** An AbortSignal that fires with the call, for steps that wait; made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Sets the one function that stops the request on the wire when the call ends early (undefined clears it). */
  onAbort(hook: ((reason: DOMException) => void) | undefined): void {
    this.#hook = hook;
  }

  /**
   * Settles like `step`, or rejects with the call's reason as soon as the call ends early: for a
   * step that cannot be stopped, such as a secret store read that hangs. One step at a time.
   */
  race<T>(step: Promise<T>): Promise<T> {
    if (this.#reason !== undefined) {
      step.catch(() => {});
      return Promise.reject(this.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#racer = reject; // once the step has settled, rejecting does nothing
      step.then(resolve, reject);
    });
  }

  /** Ends the call early, e.g. with `'closed'` when the gateway closes. Only the first cause counts. */
  abort(cause: AbortCause): void {
    if (this.#fired !== undefined) return;
    this.#fired = cause;
    this.#reason = new DOMException(cause, cause === 'deadline' ? 'TimeoutError' : 'AbortError');
    try {
      this.#racer?.(this.#reason);
      this.#hook?.(this.#reason);
    } finally {
      this.#controller?.abort(this.#reason);
    }
  }

  /** @internal The deadline has passed: leaves the queue and ends the call. */
  expire(): void {
    this.#leaveQueue();
    this.abort('deadline');
  }

  /**
   * Leaves the registry and stops listening to the caller's signal; once is enough, more is
   * harmless. Runs in the call's own pipeline, never in the shared timer: a forged signal whose
   * `removeEventListener` throws fails its own call only.
   */
  dispose(): void {
    this.#leaveQueue();
    if (this.#onCaller !== undefined) this.#caller?.removeEventListener('abort', this.#onCaller);
  }

  #leaveQueue(): void {
    this.#queue?.remove(this);
    this.#queue = undefined;
  }
}
