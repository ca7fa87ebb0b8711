/**
 * Runs each call's attempts under the shared per-caller, per-service and per-operation state, in
 * this order:
 *
 *   caller limits -> service rate -> operation concurrency -> retries -> connectivity -> breaker -> attempt
 *
 * Limits are taken once per call (a retry is not a new call); the breaker and the connectivity
 * monitor see every attempt. It is one loop rather than a chain of wrapped policies: each wrapper
 * would cost every call a closure and a promise, and nearly every call passes all of them at once.
 * @see DESIGN.md §4.6, §5 "Retries", "Limits"
 */
import { isFailure } from '../errors.ts';
import type { CompiledService, Limits, RoleLimits } from '../policy/compiled.ts';
import { sleep } from './abortable.ts';
import type { CallControl } from './call-control.ts';
import { CallerLimits } from './caller-limits.ts';
import { ConcurrencyLimit } from './concurrency-limit.ts';
import { Connectivity } from './connectivity.ts';
import { RetryBudget } from './retry-budget.ts';
import { DEFAULT_RETRY_SETTINGS, decideRetry } from './retry-decision.ts';
import { ServiceCircuit, type CircuitStatus } from './service-circuit.ts';
import { StatusEvents } from './status-events.ts';
import { TokenBucket, takeToken } from './token-bucket.ts';

/** One call, as the resilience layer sees it. */
export interface CallPlan {
  service: CompiledService;
  /** What the concurrency limit counts: the operation id, or the service for `request()`. */
  limitKey: string;
  /** The call's effective limits (`retries`, `concurrency`). */
  limits: Limits;
  caller: string;
  /** Idempotent operation or method, or an idempotency key sent. */
  retryable: boolean;
}

/** Shared state of one service. */
interface ServiceState {
  readonly rate: TokenBucket | undefined;
  /** Names the service's limits in developer details. */
  readonly what: string;
  readonly budget: RetryBudget;
  readonly circuit: ServiceCircuit;
}

/** The gateway's resilience state, and the loop each call runs under it. */
export class Resilience {
  readonly events = new StatusEvents();
  readonly connectivity = new Connectivity(this.events);
  readonly #trustedCaller: string;
  readonly #callers: CallerLimits;
  readonly #services = new Map<string, ServiceState>();
  readonly #concurrency = new Map<string, ConcurrencyLimit>();

  /** `trustedCaller` (`main`) is exempt from per-caller limits; `roles` sets other roles' limits. */
  constructor(trustedCaller: string, roles?: ReadonlyMap<string, RoleLimits>) {
    this.#trustedCaller = trustedCaller;
    this.#callers = new CallerLimits(roles);
  }

  /**
   * Runs `attempt` until it succeeds or may not be retried.
   * @throws the last attempt's failure, or a limit's `local_limit`, `no_network` or `circuit_open`.
   */
  async run<T>(plan: CallPlan, call: CallControl, attempt: () => Promise<T>): Promise<T> {
    const service = this.#service(plan.service);
    const callerSlot = plan.caller === this.#trustedCaller ? undefined : this.#callers.admit(plan.caller);
    let slot: ConcurrencyLimit | undefined;
    try {
      if (service.rate !== undefined) takeToken(service.rate, service.what);
      const concurrency = this.#concurrencyFor(plan.limitKey, plan.limits.concurrency);
      if (concurrency !== undefined) {
        const waiting = concurrency.acquire(call);
        if (waiting !== undefined) await waiting;
        slot = concurrency;
      }
      // Only calls that passed their limits count: refused ones would let the budget grow unsent.
      service.budget.recordCall();
      const retries = plan.retryable ? plan.limits.retries : 0;
      for (let retry = 1; ; retry += 1) {
        try {
          this.connectivity.assertHostOnline();
          return await service.circuit.execute(attempt, call).then(this.connectivity.answered, this.connectivity.failed);
        } catch (error) {
          if (retry > retries || call.reason !== undefined || !isFailure(error)) throw error;
          const remainingMs = call.deadlineAt - performance.now();
          const decision = decideRetry({ failure: error, retry, remainingMs, settings: DEFAULT_RETRY_SETTINGS, random: Math.random() });
          if (!decision.retry || !service.budget.tryRetry()) throw error;
          await sleep(decision.delayMs, call.signal);
        }
      }
    } finally {
      slot?.release();
      callerSlot?.release();
    }
  }

  /** Every service's breaker state (services not called yet are closed). */
  circuits(services: Iterable<CompiledService>): CircuitStatus[] {
    return [...services].map((service) => this.#services.get(service.id)?.circuit.status() ?? { service: service.id, state: 'closed' });
  }

  #service(service: CompiledService): ServiceState {
    let state = this.#services.get(service.id);
    if (state === undefined) {
      const rate = service.limits.ratePerMinute;
      state = {
        rate: rate === undefined ? undefined : new TokenBucket(rate),
        what: `service ${service.id}`,
        budget: new RetryBudget(),
        circuit: new ServiceCircuit(service.id),
      };
      this.#services.set(service.id, state);
    }
    return state;
  }

  #concurrencyFor(key: string, limit: number | undefined): ConcurrencyLimit | undefined {
    if (limit === undefined) return undefined;
    let concurrency = this.#concurrency.get(key);
    if (concurrency === undefined) {
      concurrency = new ConcurrencyLimit(limit, 4 * limit, key);
      this.#concurrency.set(key, concurrency);
    }
    return concurrency;
  }
}
