/**
 * The durable offline queue for `offline: queue` operations. While offline such a call is stored
 * (with an idempotency key, generated when absent) and answered
 * `{ ok: false, error: { kind: 'offline', reason: 'queued' }, queued: { id } }`. Once online the
 * queue replays one entry at a time in creation order: 2xx -> `delivered`; a transient failure
 * keeps it `pending` and ends the round (order is kept; the next round starts on the next
 * `online` event or after a backoff); any other failure -> `failed` without blocking the rest;
 * {@link MAX_QUEUE_ATTEMPTS} sends -> `failed`; past `limits.queueTtlMs` -> `expired`. Every
 * change is a `{ type: 'queue', id, state }` status event; every send is an audited call.
 * @see DESIGN.md §2 "Connectivity and the offline queue"
 */
import { randomUUID } from 'node:crypto';
import { GatehouseFailure, isFailure, type GatewayError } from '../errors.ts';
import { internalErrorChannel } from '../observe/channels.ts';
import type { Connectivity } from './connectivity.ts';
import type { QueueEntry, QueueItem, QueueState, QueueStore } from './queue-store.ts';
import type { StatusEvents } from './status-events.ts';

/** Sends per entry before it is `failed`. */
export const MAX_QUEUE_ATTEMPTS = 10;
/** Pending entries at most; a call beyond is refused as `rate_limited`/`local_limit`. */
export const MAX_PENDING = 1000;
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 60_000;

/** The failure a queued call ends with; the gateway adds `queued: { id }` to the envelope. @internal */
export class QueuedCall extends GatehouseFailure {
  readonly queuedId: string;

  constructor(id: string) {
    super('queued', 'offline: the call was queued');
    this.queuedId = id;
  }
}

/** A call that may be queued. */
export interface QueueRequest {
  operation: string;
  caller: string;
  params: Record<string, unknown>;
  idempotencyKey: string | undefined;
  correlationId: string;
  ttlMs: number;
}

/** Sends a stored entry through the pipeline (never queueing it again). */
export type DeliverEntry = (entry: QueueEntry) => Promise<{ ok: true } | { ok: false; error: GatewayError }>;

/** Options of {@link OfflineQueue}. */
export interface OfflineQueueOptions {
  /** Opens the store; undefined when the policy has no `offline: queue` operation. */
  open: (() => Promise<QueueStore>) | undefined;
  connectivity: Connectivity;
  events: StatusEvents;
  deliver: DeliverEntry;
}

/** Queueing, listing, cancelling and replaying. */
export class OfflineQueue {
  readonly #options: OfflineQueueOptions;
  readonly #store: Promise<QueueStore> | undefined;
  readonly #unsubscribe: () => void;
  #round: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = FIRST_BACKOFF_MS;
  #closed = false;

  constructor(options: OfflineQueueOptions) {
    this.#options = options;
    this.#store = options.open?.();
    // A store that cannot open fails each queueing call (see #enqueue), never the process.
    this.#store?.then(() => this.#kick(), () => {});
    this.#unsubscribe = options.events.on((event) => {
      if (event.type === 'online') this.#kick();
    });
  }

  /** Sends now when online; queues when offline (or when the send found no network). */
  async sendOrQueue<T>(request: QueueRequest, send: () => Promise<T>): Promise<T> {
    if (this.#options.connectivity.online) {
      try {
        return await send();
      } catch (error) {
        // Nothing left the machine when the failure is `offline`, so queueing cannot double-send.
        if (!isFailure(error) || error.kind !== 'offline') throw error;
      }
    }
    throw await this.#enqueue(request);
  }

  /** Every kept entry, those past their TTL shown as expired; none once closed. */
  async list(): Promise<QueueItem[]> {
    const store = await this.#openStore();
    return store === undefined ? [] : store.list();
  }

  async cancel(id: string): Promise<boolean> {
    const store = await this.#openStore();
    if (store === undefined) return false;
    const cancelled = store.cancel(id);
    if (cancelled) this.#emit(id, 'cancelled');
    return cancelled;
  }

  /** The store while the queue is open, with entries past their TTL already marked expired. */
  async #openStore(): Promise<QueueStore | undefined> {
    if (this.#store === undefined || this.#closed) return undefined;
    const store = await this.#store;
    if (this.#closed) return undefined;
    this.#expireDue(store);
    return store;
  }

  /** Entries expire when the queue is read or added to, not only when it replays (it may stay offline). */
  #expireDue(store: QueueStore): void {
    for (const id of store.expire(Date.now())) this.#emit(id, 'expired');
  }

  /** Stops replaying (the entry in flight ends first) and closes the store. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#timer);
    await this.#round;
    (await this.#store?.catch(() => undefined))?.close();
  }

  async #enqueue(request: QueueRequest): Promise<GatehouseFailure> {
    let store: QueueStore;
    try {
      if (this.#store === undefined || this.#closed) throw new Error('no queue');
      store = await this.#store;
    } catch (cause) {
      return new GatehouseFailure('no_network', 'offline, and the queue is unavailable', { cause });
    }
    this.#expireDue(store);
    if (store.countPending() >= MAX_PENDING) return new GatehouseFailure('local_limit', 'the offline queue is full');
    const item = store.add({
      operation: request.operation,
      caller: request.caller,
      params: JSON.stringify(request.params),
      idempotencyKey: request.idempotencyKey ?? randomUUID(),
      correlationId: request.correlationId,
      ttlMs: request.ttlMs,
    });
    this.#emit(item.id, 'pending');
    if (this.#options.connectivity.hostOnline) this.#schedule();
    return new QueuedCall(item.id);
  }

  /** Starts a replay round unless one is running. */
  #kick(): void {
    if (this.#closed || this.#round !== undefined || this.#store === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#round = this.#replay()
      .catch((error: unknown) => {
        // A storage failure (disk full, file removed) stops this round; the entries stay put.
        if (internalErrorChannel.hasSubscribers) internalErrorChannel.publish({ correlationId: '', error });
      })
      .finally(() => {
        this.#round = undefined;
      });
  }

  /** Tries again later, backing off while sends keep failing transiently. */
  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#kick();
    }, this.#backoffMs).unref();
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, this.#backoffMs * 2);
  }

  async #replay(): Promise<void> {
    const store = await this.#store!;
    while (!this.#closed && this.#options.connectivity.hostOnline) {
      this.#expireDue(store);
      const entry = store.nextPending();
      if (entry === undefined) return;
      store.markSending(entry.id);
      this.#emit(entry.id, 'sending');
      const result = await this.#options.deliver(entry);
      const transient = !result.ok && (result.error.retryable || result.error.kind === 'cancelled');
      const state: QueueState = result.ok ? 'delivered' : transient && entry.attempts + 1 < MAX_QUEUE_ATTEMPTS ? 'pending' : 'failed';
      store.setState(entry.id, state);
      this.#emit(entry.id, state);
      if (state === 'pending') {
        this.#schedule();
        return;
      }
      if (result.ok) this.#backoffMs = FIRST_BACKOFF_MS;
    }
  }

  #emit(id: string, state: QueueState): void {
    this.#options.events.emit({ type: 'queue', id, state });
  }
}
