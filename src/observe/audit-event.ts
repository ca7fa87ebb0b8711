/**
 * The audit event: one per call, written when the call ends. Metadata only — never parameter
 * values, bodies, header values, query values or secrets.
 * @see FR-07, SR-05, PR-01, DESIGN.md §4.7
 */
import type { ErrorKind, Reason } from '../errors.ts';

/** One finished call, as the audit records it. */
export interface AuditEvent {
  /** ISO 8601 time the call ended. */
  time: string;
  correlationId: string;
  /** Role of the code that asked (`main`, `renderer`, ...). */
  caller: string;
  /** `service.operation`, or `service` for `request()`; sanitised echo for unknown ids. */
  operation: string;
  service: string;
  method: string;
  /** `/forecast/{city}` — the template or matched rule, never the expanded path. */
  pathTemplate: string;
  host: string;
  status?: number;
  outcome: 'ok' | ErrorKind;
  reason?: Reason;
  durationMs: number;
  bytesIn: number;
  bytesOut: number;
  attempts: number;
  redirects: number;
  /**
   * The bound credential, by name, and how the last attempt obtained it: read (`fetched`),
   * reused from the token cache (`cached`), renewed (`refreshed`), or `failed`. Never a value.
   */
  credential?: { name: string; use: 'fetched' | 'cached' | 'refreshed' | 'failed' };
}

/** Where audit events go. `write` must not throw; `close` flushes. */
export interface AuditSink {
  write(event: AuditEvent): void;
  close(): Promise<void>;
}
