/**
 * One signal per call that fires on the call's deadline, the caller's abort or the gateway's
 * close, and remembers which, so the failure is classified as `timeout` or `cancelled`. The
 * gateway ends its calls on close through `abort('closed')` rather than one shared signal, whose
 * listener list every call would have to join and leave.
 *
 * This is the hot path of every call, so nothing is built that the call may not need: the request
 * on the wire registers a plain function ({@link CallSignal.onAbort}), and an `AbortSignal` is made
 * only when some step asks for one (a token fetch, a wait for a limit or a retry).
 * @see FR-05, UXR-02
 */

import { GatehouseFailure } from '../errors.ts';

/** What ended a call early. */
export type AbortCause = 'deadline' | 'caller' | 'closed';

/** A call's combined abort signal. Call `dispose()` when the call ends. */
export class CallSignal {
  #fired: AbortCause | undefined;
  #reason: DOMException | undefined;
  #controller: AbortController | undefined;
  #hook: ((reason: DOMException) => void) | undefined;
  #racer: ((reason: DOMException) => void) | undefined;
  readonly #timer: NodeJS.Timeout;
  readonly #caller: AbortSignal | undefined;
  readonly #onCaller: (() => void) | undefined;

  /**
   * Starts the deadline clock; a signal that is already aborted fires at once.
   * @throws GatehouseFailure `unsafe_value` when `callerSignal` is not an AbortSignal (before any timer starts).
   */
  constructor(timeoutMs: number, callerSignal: AbortSignal | undefined) {
    if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
      throw new GatehouseFailure('unsafe_value', 'signal is not an AbortSignal');
    }
    this.#timer = setTimeout(() => this.abort('deadline'), timeoutMs);
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
      this.#racer = reject;
      step.then(
        (value) => {
          this.#racer = undefined;
          resolve(value);
        },
        (error: unknown) => {
          this.#racer = undefined;
          reject(error as Error);
        },
      );
    });
  }

  /** Ends the call early, e.g. with `'closed'` when the gateway closes. Only the first cause counts. */
  abort(cause: AbortCause): void {
    if (this.#fired !== undefined) return;
    this.#fired = cause;
    this.#reason = new DOMException(cause, cause === 'deadline' ? 'TimeoutError' : 'AbortError');
    clearTimeout(this.#timer);
    try {
      this.#racer?.(this.#reason);
      this.#hook?.(this.#reason);
    } finally {
      this.#controller?.abort(this.#reason);
    }
  }

  /** Stops the clock and the caller's listener. */
  dispose(): void {
    clearTimeout(this.#timer);
    if (this.#onCaller !== undefined) this.#caller?.removeEventListener('abort', this.#onCaller);
  }
}
