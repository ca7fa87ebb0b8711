/**
 * Builds each call's resilience policy from the shared per-caller, per-service and per-operation
 * state, outermost first:
 *
 *   caller limits -> service rate -> operation concurrency -> retries -> connectivity -> breaker -> attempt
 *
 * Limits are taken once per call (a retry is not a new call); the breaker and the connectivity
 * monitor see every attempt.
 * @see DESIGN.md §4.6, §5 "Retries", "Limits"
 */
import type { CompiledService, Limits, RoleLimits } from '../policy/compiled.ts';
import { wrapPolicies, type CallPolicy } from './call-policy.ts';
import { CallerLimits } from './caller-limits.ts';
import { ConcurrencyPolicy } from './concurrency-policy.ts';
import { Connectivity } from './connectivity.ts';
import { RateLimitPolicy } from './rate-limit-policy.ts';
import { RetryBudget } from './retry-budget.ts';
import { DEFAULT_RETRY_SETTINGS } from './retry-decision.ts';
import { RetryPolicy } from './retry-policy.ts';
import { ServiceCircuit, type CircuitStatus } from './service-circuit.ts';
import { StatusEvents } from './status-events.ts';
import { TokenBucket } from './token-bucket.ts';

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
  /** The call's deadline on the `performance.now()` clock. */
  deadlineAt: number;
}

/** Shared state of one service. */
interface ServiceState {
  readonly rate: RateLimitPolicy | undefined;
  readonly budget: RetryBudget;
  readonly circuit: ServiceCircuit;
}

/** The gateway's resilience state and its policy factory. */
export class Resilience {
  readonly events = new StatusEvents();
  readonly connectivity = new Connectivity(this.events);
  readonly #trustedCaller: string;
  readonly #callers: CallerLimits;
  readonly #services = new Map<string, ServiceState>();
  readonly #concurrency = new Map<string, ConcurrencyPolicy>();

  /** `trustedCaller` (`main`) is exempt from per-caller limits; `roles` sets other roles' limits. */
  constructor(trustedCaller: string, roles?: ReadonlyMap<string, RoleLimits>) {
    this.#trustedCaller = trustedCaller;
    this.#callers = new CallerLimits(roles);
  }

  /** The policy one call runs under. */
  policyFor(plan: CallPlan): CallPolicy {
    const service = this.#service(plan.service);
    service.budget.recordCall();
    const { retries } = plan.limits;
    return wrapPolicies(
      this.#callers.policyFor(plan.caller, this.#trustedCaller),
      service.rate,
      this.#concurrencyFor(plan.limitKey, plan.limits.concurrency),
      plan.retryable && retries > 0
        ? new RetryPolicy({ retries, deadlineAt: plan.deadlineAt, budget: service.budget, settings: DEFAULT_RETRY_SETTINGS })
        : undefined,
      this.connectivity,
      service.circuit,
    );
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
        rate: rate === undefined ? undefined : new RateLimitPolicy(new TokenBucket(rate), `service ${service.id}`),
        budget: new RetryBudget(),
        circuit: new ServiceCircuit(service.id),
      };
      this.#services.set(service.id, state);
    }
    return state;
  }

  #concurrencyFor(key: string, limit: number | undefined): ConcurrencyPolicy | undefined {
    if (limit === undefined) return undefined;
    let policy = this.#concurrency.get(key);
    if (policy === undefined) {
      policy = new ConcurrencyPolicy(limit, 4 * limit, key);
      this.#concurrency.set(key, policy);
    }
    return policy;
  }
}
