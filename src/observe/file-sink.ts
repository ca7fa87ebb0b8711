/**
 * Audit sink that appends JSON lines to a file, batched: events are written together at most
 * every {@link FLUSH_INTERVAL_MS} (or once 64 KiB are pending), so a busy gateway makes a few
 * dozen writes a second instead of one per call. `close()` writes what is pending; a process
 * that exits without closing the gateway can lose the last interval's events. Events written
 * while closing follow the stream's last lines; after `close()` (calls refused as `closed`) they
 * are appended at once, synchronously.
 */
import { appendFileSync, mkdirSync, createWriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import type { AuditEvent, AuditSink } from './audit-event.ts';
import { internalErrorChannel } from './channels.ts';

const MAX_PENDING_CHARS = 64 * 1024;
/** Longest an event waits in memory before it is written. */
const FLUSH_INTERVAL_MS = 50;
/** Most the stream may hold unwritten (a stalled disk): past it, batches are dropped, and said so. */
const MAX_UNWRITTEN_BYTES = 32 * 1024 * 1024;

/** Appends each event as one JSON line to `file` (created 0600, directory 0700). */
export function fileAuditSink(file: string): AuditSink {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const stream = createWriteStream(file, { flags: 'a', mode: 0o600 });
  // A failing disk must not crash the host: the error is kept and the stream stops accepting.
  let failed = false;
  stream.on('error', () => {
    failed = true;
  });
  let pending = '';
  let timer: NodeJS.Timeout | undefined;
  /** `closing` keeps later lines in memory until the stream's own are on disk, so order holds. */
  let state: 'open' | 'closing' | 'closed' = 'open';

  const appendNow = (lines: string): void => {
    if (failed) return;
    try {
      appendFileSync(file, lines, { mode: 0o600 });
    } catch {
      failed = true; // as with a failing stream: the host is not crashed for an audit line
    }
  };

  const flush = (): void => {
    clearTimeout(timer);
    timer = undefined;
    if (pending === '' || failed) return;
    if (stream.writableLength > MAX_UNWRITTEN_BYTES) {
      if (internalErrorChannel.hasSubscribers) internalErrorChannel.publish({ error: new Error('audit file is not keeping up; events dropped') });
    } else {
      stream.write(pending);
    }
    pending = '';
  };

  return {
    write(event) {
      const line = JSON.stringify(event) + '\n';
      if (state === 'closed') return appendNow(line);
      pending += line;
      if (state === 'closing') return;
      // A caller that never yields must not grow the buffer without bound.
      if (pending.length > MAX_PENDING_CHARS) flush();
      // Unreferenced: pending audit lines alone do not keep the process alive.
      else timer ??= setTimeout(flush, FLUSH_INTERVAL_MS).unref();
    },
    async close() {
      if (state !== 'open') return;
      flush();
      state = 'closing';
      if (!failed && !stream.closed) {
        stream.end();
        await once(stream, 'close');
      }
      state = 'closed';
      if (pending !== '') appendNow(pending);
      pending = '';
    },
  };
}

/** Hands each event to a host function; a throwing function cannot break the call. */
export function functionAuditSink(fn: (event: AuditEvent) => void): AuditSink {
  return {
    write(event) {
      try {
        fn(event);
      } catch {
        // The host's sink is its own business; the call's outcome stands.
      }
    },
    async close() {},
  };
}
