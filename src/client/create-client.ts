/**
 * `createClient`: the typed caller for UI code. With the operations map that `gatehouse types`
 * generates, `client.call('weather.getForecast', { city })` is checked by the compiler: the
 * operation id, every param, and the type of `result.data`.
 * @see DESIGN.md §2 "Hosts", FR-02, TR-01
 */
import type { CallArgs, ClientResult, ClientStatus, GatehouseBridge, OperationsMap } from './types.ts';

/** A typed client over `window.gatehouse` (or anything with the same `call`). */
export interface GatehouseClient<Ops extends OperationsMap<Ops>> {
  /**
   * Runs a named operation. Never rejects: a refused or broken bridge resolves to an
   * `internal_error` envelope, so UI code has one path for every outcome.
   */
  call<K extends keyof Ops & string>(operation: K, ...args: CallArgs<Ops[K]['params']>): Promise<ClientResult<Ops[K]['result']>>;
  /** Listens to connectivity and queue events; returns the unsubscribe function (a no-op when the bridge has no status). */
  onStatus(listener: (status: ClientStatus) => void): () => void;
}

const BRIDGE_FAILED = 'Something went wrong inside the app. Try again, and contact support if it keeps happening.';

/**
 * Wraps the bridge exposed by the preload in a typed client.
 * @param bridge usually `window.gatehouse`
 * @example
 * import type { Operations } from './gatehouse-operations';
 * const client = createClient<Operations>(window.gatehouse);
 * const result = await client.call('weather.getForecast', { city: 'Oslo' });
 * if (result.ok) show(result.data); else explain(result.error);
 */
export function createClient<Ops extends OperationsMap<Ops>>(bridge: GatehouseBridge): GatehouseClient<Ops> {
  if (typeof bridge?.call !== 'function') throw new TypeError('createClient: the gatehouse bridge (window.gatehouse) is missing');
  return Object.freeze({
    async call<K extends keyof Ops & string>(operation: K, ...args: CallArgs<Ops[K]['params']>): Promise<ClientResult<Ops[K]['result']>> {
      const [params, options] = args;
      try {
        const result = await bridge.call(operation, params, options);
        if (isEnvelope(result)) return result as ClientResult<Ops[K]['result']>;
      } catch {
        // A refused sender or a non-clonable param rejects; the UI gets an envelope instead.
      }
      return {
        ok: false,
        error: {
          kind: 'internal_error',
          reason: 'bug',
          message: BRIDGE_FAILED,
          retryable: false,
          operation: String(operation).slice(0, 200),
          correlationId: options?.correlationId ?? globalThis.crypto?.randomUUID?.() ?? '',
        },
      };
    },
    onStatus(listener: (status: ClientStatus) => void): () => void {
      return bridge.onStatus?.(listener) ?? (() => {});
    },
  });
}

function isEnvelope(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const { ok, error } = value as { ok?: unknown; error?: unknown };
  return ok === true || (ok === false && typeof error === 'object' && error !== null);
}
