/**
 * One signal per call that fires on the call's deadline, the caller's abort or the gateway's
 * close, and remembers which, so the failure is classified as `timeout` or `cancelled`. The
 * gateway ends its calls on close through `abort('closed')` rather than one shared signal, whose
 * listener list every call would have to join and leave.
 * @see FR-05, UXR-02
 */

import { GatehouseFailure } from '../errors.ts';

/** What ended a call early. */
export type AbortCause = 'deadline' | 'caller' | 'closed';

/** A call's combined abort signal. Call `dispose()` when the call ends. */
export interface CallSignal {
  readonly signal: AbortSignal;
  /** Which cause fired, once one has. */
  readonly fired: AbortCause | undefined;
  /** Ends the call early, e.g. with `'closed'` when the gateway closes. */
  abort(cause: AbortCause): void;
  dispose(): void;
}

/**
 * Starts the deadline clock; a signal that is already aborted fires at once.
 * @throws GatehouseFailure `unsafe_value` when `callerSignal` is not an AbortSignal (before any timer starts).
 */
export function startCallSignal(timeoutMs: number, callerSignal: AbortSignal | undefined): CallSignal {
  if (callerSignal !== undefined && !(callerSignal instanceof AbortSignal)) {
    throw new GatehouseFailure('unsafe_value', 'signal is not an AbortSignal');
  }
  const controller = new AbortController();
  let fired: AbortCause | undefined;
  const fire = (cause: AbortCause): void => {
    if (fired !== undefined) return;
    fired = cause;
    controller.abort(new DOMException(cause, cause === 'deadline' ? 'TimeoutError' : 'AbortError'));
  };
  const timer = setTimeout(fire, timeoutMs, 'deadline');
  const onCaller = (): void => fire('caller');
  if (callerSignal?.aborted) fire('caller');
  else callerSignal?.addEventListener('abort', onCaller, { once: true });
  return {
    signal: controller.signal,
    get fired() {
      return fired;
    },
    abort: fire,
    dispose() {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', onCaller);
    },
  };
}
