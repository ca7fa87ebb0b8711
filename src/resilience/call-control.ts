/**
 * What the resilience layer needs of a call: whether it has ended, its deadline, and an AbortSignal
 * for the steps that wait (made on demand, so a call that never waits never pays for one).
 */

/** A call as limits, retries and the breaker see it. */
export interface CallControl {
  /** Why the call ended early (deadline, caller, close), once it has. */
  readonly reason: Error | undefined;
  /** Fires when the call ends early. */
  readonly signal: AbortSignal;
  /** The call's deadline on the `performance.now()` clock. */
  readonly deadlineAt: number;
}
