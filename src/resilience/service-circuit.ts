/**
 * A circuit breaker per service (cockatiel `CircuitBreakerPolicy` + `SamplingBreaker`): it opens
 * when more than `threshold` of the attempts in the sampling window failed transiently
 * (connection failure, timeout, 502/503/504), with at least `minimumAttempts` attempts in it.
 * While open every attempt fails at once as `service_unavailable`/`circuit_open` with
 * `retryAfterMs` = time to half-open, sending nothing; after `halfOpenAfterMs` one probe goes
 * through and its outcome closes or reopens the circuit.
 * @see DESIGN.md §2 "Error envelope", §4.6
 */
import { BrokenCircuitError, CircuitState, SamplingBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy, type IDefaultPolicyContext } from 'cockatiel';
import { GatehouseFailure, isFailure } from '../errors.ts';
import { raceAbort } from './abortable.ts';
import type { CallPolicy } from './call-policy.ts';

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
export class ServiceCircuit implements CallPolicy {
  readonly #service: string;
  readonly #halfOpenAfterMs: number;
  readonly #policy: CircuitBreakerPolicy;
  #openedAt = 0;

  constructor(service: string, settings: CircuitSettings = {}) {
    this.#service = service;
    this.#halfOpenAfterMs = settings.halfOpenAfterMs ?? 10_000;
    const samplingMs = settings.samplingMs ?? 10_000;
    this.#policy = circuitBreaker(handleWhen(isTransient), {
      halfOpenAfter: this.#halfOpenAfterMs,
      breaker: new SamplingBreaker({
        threshold: settings.threshold ?? 0.5,
        duration: samplingMs,
        minimumRps: ((settings.minimumAttempts ?? 20) * 1000) / samplingMs,
      }),
    });
    this.#policy.onBreak(() => {
      this.#openedAt = Date.now();
    });
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal: AbortSignal): Promise<T> {
    try {
      // Closed: cockatiel runs `fn` at once and waits for nothing else, and `fn` ends on `signal`
      // itself, so no race (and no abort listener) is needed. Calls arriving during a half-open
      // probe wait for its verdict; never past their own signal.
      if (this.#policy.state === CircuitState.Closed) return await this.#policy.execute(fn, signal);
      return await raceAbort(this.#policy.execute(fn, signal), signal);
    } catch (error) {
      if (error instanceof BrokenCircuitError) {
        throw new GatehouseFailure('circuit_open', `circuit of ${this.#service} is open`, { retryAfterMs: this.#untilHalfOpen() });
      }
      throw error;
    }
  }

  status(): CircuitStatus {
    const state = this.#policy.state;
    if (state === CircuitState.HalfOpen) return { service: this.#service, state: 'half-open' };
    if (state === CircuitState.Closed) return { service: this.#service, state: 'closed' };
    return { service: this.#service, state: 'open', retryAfterMs: this.#untilHalfOpen() };
  }

  #untilHalfOpen(): number {
    return Math.max(0, this.#openedAt + this.#halfOpenAfterMs - Date.now());
  }
}
