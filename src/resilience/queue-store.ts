/**
 * The offline queue's storage interface (no implementation here; see `sqlite-queue-store.ts`).
 * Entries hold the operation's params — the caller's own data, needed to replay — and never a
 * credential: credentials are attached at send time from the secret store.
 * @see DESIGN.md §2 "Connectivity and the offline queue", STYLE.md §9
 */

/** Every state a queued call can be in. */
export const QUEUE_STATES = ['pending', 'sending', 'delivered', 'failed', 'cancelled', 'expired'] as const;

/** The state of a queued call. */
export type QueueState = (typeof QUEUE_STATES)[number];

/** A queued call as `gateway.queue.list()` shows it (no params, no key). */
export interface QueueItem {
  id: string;
  operation: string;
  caller: string;
  /** ISO 8601. */
  createdAt: string;
  /** ISO 8601; a pending item past it becomes `expired`. */
  expiresAt: string;
  /** Sends started so far. */
  attempts: number;
  state: QueueState;
}

/** What is stored to replay a call. */
export interface QueueEntry extends QueueItem {
  /** JSON text of the validated params. */
  params: string;
  /** Sent as `Idempotency-Key` on every replay. */
  idempotencyKey: string;
  correlationId: string;
}

/** A new entry; the store assigns id, times, attempts and state. */
export type NewQueueEntry = Pick<QueueEntry, 'operation' | 'caller' | 'params' | 'idempotencyKey' | 'correlationId'> & {
  ttlMs: number;
};

/** Durable, ordered storage of queued calls. Every write is durable when the method returns. */
export interface QueueStore {
  /** Stores a new `pending` entry, after all existing ones in replay order. */
  add(entry: NewQueueEntry): QueueItem;
  /** Every entry still kept, in creation order. */
  list(): QueueItem[];
  /** Pending entries. */
  countPending(): number;
  /** The oldest `pending` entry, if any. */
  nextPending(): QueueEntry | undefined;
  /** Marks an entry `sending` and counts the attempt — before anything is sent. */
  markSending(id: string): void;
  /** Moves an entry to a new state. */
  setState(id: string, state: QueueState): void;
  /** `pending` -> `cancelled`; false if the entry is not pending. */
  cancel(id: string): boolean;
  /** Marks `pending` entries past their expiry `expired`; returns their ids. */
  expire(now: number): string[];
  close(): void;
}
