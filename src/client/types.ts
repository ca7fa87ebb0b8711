/**
 * Types shared by UI code: what `window.gatehouse` is, the shape of a generated operations map,
 * and the results a call resolves to. Types only: nothing here runs.
 * @see DESIGN.md §2 "Hosts", FR-02, TR-01
 */
import type { GatewayError } from '../errors.ts';

/** Options a renderer may pass with a call. The caller role is never among them. */
export interface ClientCallOptions {
  /** Passed through to the result, the error and the audit. */
  correlationId?: string;
  /** Sent as `Idempotency-Key`; makes a call safe to retry or queue. */
  idempotencyKey?: string;
}

/** A status event from the gateway: `{ type: 'online' | 'offline' }` or `{ type: 'queue', id, state }`. */
export type ClientStatus =
  | { type: 'online' }
  | { type: 'offline' }
  | { type: 'queue'; id: string; state: string };

/** What a call resolves to: a typed result, or an error envelope (plus `queued` when it was queued offline). */
export type ClientResult<T> =
  | { ok: true; status: number; data: T; correlationId: string }
  | { ok: false; error: GatewayError; queued?: { id: string } };

/** `window.gatehouse`, as the preload exposes it. */
export interface GatehouseBridge {
  call(operation: string, params?: unknown, options?: ClientCallOptions): Promise<unknown>;
  onStatus?(listener: (status: ClientStatus) => void): () => void;
}

/** One operation's types, as `gatehouse types` generates them. */
export interface OperationTypes {
  params: unknown;
  result: unknown;
}

/**
 * A map of operation ids to their params and result types, such as the generated `Operations`
 * interface: `createClient<Operations>()` takes any `Ops` that is `OperationsMap<Ops>`.
 */
export type OperationsMap<Ops> = { [K in keyof Ops]: OperationTypes };

/** The arguments of `call` for one operation: params may be left out when none is required. */
export type CallArgs<P> = Record<never, never> extends P
  ? [params?: P, options?: ClientCallOptions]
  : [params: P, options?: ClientCallOptions];
