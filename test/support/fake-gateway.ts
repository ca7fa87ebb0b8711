/**
 * A gateway double for host tests: records every call with its options, answers with a canned
 * or echo envelope, can hold calls open, and emits status events like `gateway.onStatus`.
 */
import type { CallOptions, CallResult } from '../../src/gateway/gateway.ts';

/** A recorded call. */
export interface RecordedCall {
  operation: string;
  params: unknown;
  options: CallOptions & { idempotencyKey?: string };
}

/** The double and its controls. */
export interface FakeGateway {
  call(operation: string, params?: unknown, options?: CallOptions): Promise<CallResult>;
  onStatus(listener: (event: unknown) => void): () => void;
  readonly calls: RecordedCall[];
  readonly statusListeners: Set<(event: unknown) => void>;
  /** The next answer (any shape, to test what the bridge copies); default echoes the operation. */
  next: unknown;
  /** Throw from the next call (a broken gateway). */
  throwNext: boolean;
  /** Hold calls until `release()`. */
  hold: boolean;
  release(): void;
  emitStatus(event: unknown): void;
}

/** Makes a {@link FakeGateway}. */
export function fakeGateway(answer?: (operation: string, params: unknown) => CallResult): FakeGateway {
  const waiting: (() => void)[] = [];
  const gateway: FakeGateway = {
    calls: [],
    statusListeners: new Set(),
    next: undefined,
    throwNext: false,
    hold: false,
    async call(operation, params, options = {}) {
      gateway.calls.push({ operation, params, options });
      if (gateway.throwNext) {
        gateway.throwNext = false;
        throw new Error('boom');
      }
      if (gateway.hold) await new Promise<void>((resolve) => waiting.push(resolve));
      if (gateway.next !== undefined) {
        const next = gateway.next as CallResult;
        gateway.next = undefined;
        return next;
      }
      return answer?.(operation, params) ?? { ok: true, status: 200, data: { echo: operation }, correlationId: 'c-1' };
    },
    onStatus(listener) {
      gateway.statusListeners.add(listener);
      return () => gateway.statusListeners.delete(listener);
    },
    release() {
      for (const resolve of waiting.splice(0)) resolve();
    },
    emitStatus(event) {
      for (const listener of gateway.statusListeners) listener(event);
    },
  };
  return gateway;
}
