/**
 * What crosses IPC back to a renderer: fresh plain objects with known fields only, so the answer
 * is always structured-clonable and carries nothing the gateway did not mean to say.
 * @see DESIGN.md §5 "Electron bridge"
 */
import type { CallResult } from '../../gateway/gateway.ts';
import type { GatewayError } from '../../errors.ts';

/** A call result as sent to the renderer; `queued` is present for calls queued while offline. */
export type WireResult =
  | { ok: true; status: number; data: unknown; correlationId: string }
  | { ok: false; error: GatewayError; queued?: { id: string } };

/** A status event as sent to the renderer: `type` plus primitive fields. */
export type WireStatus = { type: string } & Record<string, string | number | boolean>;

const ERROR_FIELDS = ['kind', 'reason', 'message', 'retryable', 'retryAfterMs', 'status', 'operation', 'correlationId'] as const;
const MAX_STATUS_FIELDS = 8;

/** Copies a call result into a plain, clonable envelope. @internal */
export function toWireResult(result: CallResult & { queued?: unknown }): WireResult {
  if (result.ok) return { ok: true, status: result.status, data: result.data, correlationId: result.correlationId };
  const error = {} as Record<string, unknown>;
  for (const field of ERROR_FIELDS) {
    const value = result.error[field];
    if (value !== undefined) error[field] = value;
  }
  const wire: WireResult = { ok: false, error: error as unknown as GatewayError };
  const queuedId = (result.queued as { id?: unknown } | undefined)?.id;
  if (typeof queuedId === 'string') wire.queued = { id: queuedId };
  return wire;
}

/** Copies a gateway status event (`{ type, ... }`) into a plain object, or undefined if it is not one. @internal */
export function toWireStatus(event: unknown): WireStatus | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const type = (event as { type?: unknown }).type;
  if (typeof type !== 'string') return undefined;
  const wire: Record<string, string | number | boolean> = { type };
  for (const [key, value] of Object.entries(event).slice(0, MAX_STATUS_FIELDS)) {
    if (key === '__proto__') continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') wire[key] = value;
  }
  return wire as WireStatus;
}
