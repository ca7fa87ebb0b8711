/**
 * A circuit breaker per service: it opens when more than `threshold` of the attempts in the
 * sampling window failed transiently (connection failure, timeout, 502/503/504), with at least
 * `minimumAttempts` attempts in it. While open every attempt fails at once as
 * `service_unavailable`/`circuit_open` with `retryAfterMs` = time to half-open, sending nothing;
 * after `halfOpenAfterMs` one probe goes through and its outcome closes or reopens the circuit.
 * Calls arriving during the probe wait for its verdict, never past their own signal.
 *
 * The window statistics are cockatiel's `SamplingBreaker`; the three states are kept here, because
 * cockatiel's `CircuitBreakerPolicy` wraps every closed-state call in its executor's promises and
 * events, which the per-call budget (bench/) has no room for.
 * @see DESIGN.md §2 "Error envelope", §4.6
 */
import { CircuitState, SamplingBreaker } from 'cockatiel';
import { GatehouseFailure, isFailure } from '../errors.ts';
import { raceAbort } from './abortable.ts';
import type { CallControl } from './call-control.ts';

/** Settings of a service's breaker. */
export interface CircuitSettings {
  /** Share of failed attempts in the window that opens the circuit, in (0, 1). @default 0.5 */
  threshold?: number;
  /** Sampling window. @default 10000 */
  samplingMs?: number;
  /**
   * Fewest attempts in the window before it may open: with fewer, a burst at start-up whose fast
   * failures (resets) come back before its successes could open a healthy service's circuit.
   * @default 20
   */
  minimumAttempts?: number;
  /** Time open before a half-open probe. @default 10000 */
  halfOpenAfterMs?: number;
}

/** A breaker's state, as `gateway.circuits()` reports it. */
export interface CircuitStatus {
  service: string;
  state: 'closed' | 'open' | 'half-open';
  /** While open: milliseconds until a probe may go through. */
  retryAfterMs?: number;
}

/** Failures that say the service (or the way to it) is unwell, not that the request was wrong. */
function isTransient(error: unknown): boolean {
  if (!isFailure(error)) return false;
  if (error.kind === 'connection_error' || error.kind === 'timeout') return true;
  return error.kind === 'service_unavailable' && error.status !== undefined;
}

/** One service's breaker. */
export class ServiceCircuit {
  readonly #service: string;
  readonly #halfOpenAfterMs: number;
  readonly #breaker: SamplingBreaker;
  #state: CircuitStatus['state'] = 'closed';
  #openedAt = 0;
  /** While half-open: settles when the probe's verdict is in. */
  #verdict: Promise<void> | undefined;

  constructor(service: string, settings: CircuitSettings = {}) {
    this.#service = service;
    this.#halfOpenAfterMs = settings.halfOpenAfterMs ?? 10_000;
    const samplingMs = settings.samplingMs ?? 10_000;
    this.#breaker = new SamplingBreaker({
      threshold: settings.threshold ?? 0.5,
      duration: samplingMs,
      minimumRps: ((settings.minimumAttempts ?? 20) * 1000) / samplingMs,
    });
  }

  /**
   * Runs one attempt through the breaker.
   * @throws GatehouseFailure `circuit_open` while open; the call's reason if it ends while waiting for a probe.
   */
  execute<T>(attempt: () => PromiseLike<T> | T, call: Pick<CallControl, 'signal'>): Promise<T> {
    if (this.#state === 'closed') return this.#closed(attempt);
    return this.#notClosed(attempt, call);
  }

  /** An attempt while closed: its outcome is sampled. */
  #closed<T>(attempt: () => PromiseLike<T> | T): Promise<T> {
    // Not an async function, and the outcome handlers are made once: every call passes here.
    let outcome: Promise<T>;
    try {
      outcome = Promise.resolve(attempt());
    } catch (error) {
      outcome = Promise.reject(error as Error);
    }
    return outcome.then(this.#closedSuccess as (value: T) => T, this.#closedFailure);
  }

  readonly #closedSuccess = (value: unknown): unknown => {
    this.#breaker.success(CircuitState.Closed);
    return value;
  };

  readonly #closedFailure = (error: unknown): never => {
    // Failures that say nothing about the service's health are not sampled.
    if (isTransient(error) && this.#breaker.failure(CircuitState.Closed) && this.#state === 'closed') this.#open();
    throw error;
  };

  status(): CircuitStatus {
    if (this.#state === 'open') return { service: this.#service, state: 'open', retryAfterMs: this.#untilHalfOpen() };
    return { service: this.#service, state: this.#state };
  }

  async #notClosed<T>(attempt: () => PromiseLike<T> | T, call: Pick<CallControl, 'signal'>): Promise<T> {
    for (;;) {
      if (this.#state === 'closed') return this.#closed(attempt);
      if (this.#state === 'open') {
        const waitMs = this.#untilHalfOpen();
        if (waitMs > 0) throw new GatehouseFailure('circuit_open', `circuit of ${this.#service} is open`, { retryAfterMs: waitMs });
        return this.#probe(attempt);
      }
      await raceAbort(this.#verdict!, call.signal); // set whenever the state is half-open
    }
  }

  /**
   * The one attempt of the half-open state: a transient failure reopens, an answer or another
   * failure closes, and a cancelled probe, which learned nothing, leaves the next call to probe.
   */
  async #probe<T>(attempt: () => PromiseLike<T> | T): Promise<T> {
    let settle = (): void => {};
    this.#state = 'half-open';
    this.#verdict = new Promise<void>((resolve) => (settle = resolve));
    try {
      const value = await attempt();
      this.#close();
      return value;
    } catch (error) {
      if (isTransient(error)) this.#open();
      else if (isFailure(error) && error.kind === 'cancelled') this.#state = 'open'; // still due for a probe
      else this.#close();
      throw error;
    } finally {
      this.#verdict = undefined;
      settle();
    }
  }

  #open(): void {
    this.#state = 'open';
    this.#openedAt = Date.now();
  }

  #close(): void {
    this.#breaker.success(CircuitState.HalfOpen); // starts a fresh window
    this.#state = 'closed';
  }

  #untilHalfOpen(): number {
    return Math.max(0, this.#openedAt + this.#halfOpenAfterMs - Date.now());
  }
}
