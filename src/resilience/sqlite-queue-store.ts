/**
 * The offline queue in SQLite (`node:sqlite`): `${dataDir}/queue.sqlite`, WAL journal with
 * `synchronous=FULL`, so a state written before a send survives a crash or power cut. The file is
 * created mode 0600 in a directory created 0700 (it holds params: the caller's data, no secrets).
 *
 * Crash rule: an entry found `sending` on open was in flight when the process died; it goes back
 * to `pending` and is replayed with the same idempotency key. An entry recorded `delivered` is
 * never sent again.
 * @see DESIGN.md §2 "Connectivity and the offline queue"
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { loadSqlite } from './load-sqlite.ts';
import type { NewQueueEntry, QueueEntry, QueueItem, QueueState, QueueStore } from './queue-store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS queue (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  operation TEXT NOT NULL,
  caller TEXT NOT NULL,
  params TEXT NOT NULL,
  idempotency_key TEXT NOT NULL,
  correlation_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  state TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queue_state ON queue (state, seq);`;

const COLUMNS = 'id, operation, caller, params, idempotency_key, correlation_id, created_at, expires_at, attempts, state';

interface Row {
  id: string;
  operation: string;
  caller: string;
  params: string;
  idempotency_key: string;
  correlation_id: string;
  created_at: number;
  expires_at: number;
  attempts: number;
  state: QueueState;
}

function toItem(row: Row): QueueItem {
  return {
    id: row.id,
    operation: row.operation,
    caller: row.caller,
    createdAt: new Date(row.created_at).toISOString(),
    expiresAt: new Date(row.expires_at).toISOString(),
    attempts: row.attempts,
    state: row.state,
  };
}

/** Opens (creating if needed) the queue database in `dataDir`. */
export async function openSqliteQueueStore(dataDir: string): Promise<QueueStore> {
  const { DatabaseSync } = await loadSqlite();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = join(dataDir, 'queue.sqlite');
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
  const db = new DatabaseSync(file);
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;');
  db.exec(SCHEMA);
  const now = Date.now();
  db.prepare(`UPDATE queue SET state = 'pending' WHERE state = 'sending'`).run();
  // Finished entries stay visible until their own expiry, then go.
  db.prepare(`DELETE FROM queue WHERE state NOT IN ('pending', 'sending') AND expires_at < ?`).run(now);
  return new SqliteQueueStore(db);
}

class SqliteQueueStore implements QueueStore {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #list: StatementSync;
  readonly #count: StatementSync;
  readonly #next: StatementSync;
  readonly #sending: StatementSync;
  readonly #setState: StatementSync;
  readonly #cancel: StatementSync;
  readonly #expire: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(`INSERT INTO queue (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'pending') RETURNING ${COLUMNS}`);
    this.#list = db.prepare(`SELECT ${COLUMNS} FROM queue ORDER BY seq`);
    this.#count = db.prepare(`SELECT count(*) AS n FROM queue WHERE state = 'pending'`);
    this.#next = db.prepare(`SELECT ${COLUMNS} FROM queue WHERE state = 'pending' ORDER BY seq LIMIT 1`);
    this.#sending = db.prepare(`UPDATE queue SET state = 'sending', attempts = attempts + 1 WHERE id = ?`);
    this.#setState = db.prepare(`UPDATE queue SET state = ? WHERE id = ?`);
    this.#cancel = db.prepare(`UPDATE queue SET state = 'cancelled' WHERE id = ? AND state = 'pending'`);
    this.#expire = db.prepare(`UPDATE queue SET state = 'expired' WHERE state = 'pending' AND expires_at <= ? RETURNING id`);
  }

  add(entry: NewQueueEntry): QueueItem {
    const now = Date.now();
    const row = this.#insert.get(
      randomUUID(),
      entry.operation,
      entry.caller,
      entry.params,
      entry.idempotencyKey,
      entry.correlationId,
      now,
      now + entry.ttlMs,
    ) as unknown as Row;
    return toItem(row);
  }

  list(): QueueItem[] {
    return (this.#list.all() as unknown as Row[]).map(toItem);
  }

  countPending(): number {
    return Number((this.#count.get() as { n: number }).n);
  }

  nextPending(): QueueEntry | undefined {
    const row = this.#next.get() as unknown as Row | undefined;
    if (row === undefined) return undefined;
    return { ...toItem(row), params: row.params, idempotencyKey: row.idempotency_key, correlationId: row.correlation_id };
  }

  markSending(id: string): void {
    this.#sending.run(id);
  }

  setState(id: string, state: QueueState): void {
    this.#setState.run(state, id);
  }

  cancel(id: string): boolean {
    return Number(this.#cancel.run(String(id)).changes) > 0;
  }

  expire(now: number): string[] {
    return (this.#expire.all(now) as { id: string }[]).map((row) => row.id);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }
}
