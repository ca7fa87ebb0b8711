/**
 * What the audit learns as a call goes, filled step by step, and the one audit event it becomes.
 * @see DESIGN.md §2 "Secret store and audit event", §4.7
 */
import { sanitizeOperationId, type GatewayError } from '../errors.ts';
import type { TransferStats } from '../net/send.ts';
import type { AuditEvent } from '../observe/audit-event.ts';
import { resolveCorrelation } from '../observe/correlation.ts';
import type { CompiledService } from '../policy/compiled.ts';
import { ID_PATTERN } from '../policy/schema.ts';
import { TRUSTED_CALLER } from './authorize.ts';

/** A call in progress, as the audit will describe it; it is also the exchange's meter. @internal */
export interface CallRecord extends TransferStats {
  readonly started: number;
  readonly correlationId: string;
  /** The trace id of the call's `traceparent` headers, derived from the correlation id. */
  readonly traceId: string;
  readonly caller: string;
  readonly operation: string;
  service: string;
  method: string;
  pathTemplate: string;
  host: string;
  attempts: number;
  credential: AuditEvent['credential'];
}

/** A role that no policy can name, for callers that are not a valid role: it is never authorised. */
const INVALID_CALLER = '(invalid)';

/** The caller's role: absent means trusted `main`; anything that is not a role name can never pass. */
function callerRole(caller: unknown): string {
  if (caller === undefined) return TRUSTED_CALLER;
  return typeof caller === 'string' && ID_PATTERN.test(caller) ? caller : INVALID_CALLER;
}

/** A record for a call just asked for; every caller-supplied value is sanitised. @internal */
export function startRecord(operation: unknown, caller: unknown, correlationId: unknown): CallRecord {
  const { correlationId: id, traceId } = resolveCorrelation(correlationId);
  return {
    started: performance.now(),
    correlationId: id,
    traceId,
    caller: callerRole(caller),
    operation: sanitizeOperationId(operation),
    service: '',
    method: '',
    pathTemplate: '',
    host: '',
    attempts: 0,
    status: undefined,
    bytesIn: 0,
    bytesOut: 0,
    redirects: 0,
    credential: undefined,
  };
}

/** Fills in what the policy says about the call. @internal */
export function describeRecord(record: CallRecord, service: CompiledService, method: string, pathTemplate: string): void {
  record.service = service.id;
  record.method = method;
  record.pathTemplate = pathTemplate;
  record.host = service.destination.baseUrl.host;
}

let isoMs = 0;
let isoText = '';

/** The current time in ISO 8601; formatted once per millisecond, since a busy gateway ends many calls in each. */
function isoNow(): string {
  const now = Date.now();
  if (now !== isoMs) {
    isoMs = now;
    isoText = new Date(now).toISOString();
  }
  return isoText;
}

/** The audit event of a finished call. @internal */
export function toAuditEvent(record: CallRecord, outcome: AuditEvent['outcome'], error?: GatewayError): AuditEvent {
  return {
    time: isoNow(),
    correlationId: record.correlationId,
    caller: record.caller,
    operation: record.operation,
    service: record.service,
    method: record.method,
    pathTemplate: record.pathTemplate,
    host: record.host,
    ...(record.status === undefined ? {} : { status: record.status }),
    outcome,
    ...(error?.reason === undefined ? {} : { reason: error.reason }),
    durationMs: Math.round((performance.now() - record.started) * 1000) / 1000,
    bytesIn: record.bytesIn,
    bytesOut: record.bytesOut,
    attempts: record.attempts,
    redirects: record.redirects,
    ...(record.credential === undefined ? {} : { credential: record.credential }),
  };
}
