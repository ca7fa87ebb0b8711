/**
 * Loads `node:sqlite` on first use. Node 22 flags the module with an ExperimentalWarning on load;
 * that one warning (and no other) is kept from the host's stderr, since the queue's use of
 * SQLite is an implementation detail the host did not choose. Node 24 prints nothing.
 */
import type * as SqliteModule from 'node:sqlite';

type Sqlite = typeof SqliteModule;

let loading: Promise<Sqlite> | undefined;

/** `node:sqlite`, loaded once. */
export function loadSqlite(): Promise<Sqlite> {
  loading ??= importQuietly();
  return loading;
}

async function importQuietly(): Promise<Sqlite> {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (/sqlite/i.test(text) && (type === 'ExperimentalWarning' || (warning as Error).name === 'ExperimentalWarning')) return;
    (emitWarning as (...args: unknown[]) => void).call(this, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return await import('node:sqlite');
  } finally {
    process.emitWarning = emitWarning;
  }
}
