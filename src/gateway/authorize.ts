/**
 * Who may run what: pure decisions over the compiled policy, no I/O, nothing thrown.
 * @see SR-01, SR-02, DESIGN.md §5 "Callers"
 */
import type { CompiledOperation, CompiledPolicy, CompiledService } from '../policy/compiled.ts';

/** The trusted role of process code; it may call every operation and use `request()`. */
export const TRUSTED_CALLER = 'main';

/** Outcome of looking up an operation for a caller. */
export type OperationDecision =
  | { allow: true; operation: CompiledOperation }
  | { allow: false; reason: 'unknown_operation' | 'caller_not_allowed' };

/** Finds the operation and checks the caller's role against its `callers`. */
export function authorizeOperation(policy: CompiledPolicy, operationId: unknown, caller: string): OperationDecision {
  const operation = typeof operationId === 'string' ? policy.operations.get(operationId) : undefined;
  if (operation === undefined) return { allow: false, reason: 'unknown_operation' };
  if (caller !== TRUSTED_CALLER && !operation.callers.has(caller)) return { allow: false, reason: 'caller_not_allowed' };
  return { allow: true, operation };
}

/** Outcome of looking up a service for a trusted `request()`. */
export type ServiceDecision =
  | { allow: true; service: CompiledService }
  | { allow: false; reason: 'unknown_service' | 'caller_not_allowed' };

/** `request()` is for trusted process code only (DESIGN.md §4.3). */
export function authorizeRequest(policy: CompiledPolicy, serviceId: unknown, caller: string): ServiceDecision {
  if (caller !== TRUSTED_CALLER) return { allow: false, reason: 'caller_not_allowed' };
  const service = typeof serviceId === 'string' ? policy.services.get(serviceId) : undefined;
  if (service === undefined) return { allow: false, reason: 'unknown_service' };
  return { allow: true, service };
}
