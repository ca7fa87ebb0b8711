/**
 * Crash safety of the offline queue: a child queues N operations, goes online and is killed with
 * SIGKILL while an item is being sent; a restarted gateway replays the rest. The server sees
 * every idempotency key, items recorded `delivered` are never sent again, and only the item that
 * was in flight at the kill may be sent twice — with the same key, so a server that dedupes by
 * key applies every operation exactly once.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { makeTestPki } from './support/certs.ts';
import { answerOk, startResilienceFixture } from './support/resilience-fixture.ts';
import { until } from './support/routes.ts';

const N = 12;
const KILL_AT = 5;

describe('offline queue across a crash (SIGKILL during replay)', () => {
  it('replays every queued operation; none is sent again after it was recorded delivered', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
    const fx = await startResilienceFixture({ dataDir });
    await fx.closeGateway(); // the child owns the queue first
    try {
      const applied = new Set<string>();
      const order: string[] = [];
      const running: { child?: ReturnType<typeof spawn> } = {};
      fx.behave((req, res, body) => {
        const key = String(req.headers['idempotency-key']);
        order.push(key);
        if (order.length === KILL_AT && running.child !== undefined) {
          running.child.kill('SIGKILL'); // mid-send: the request arrived, the answer never will
          return;
        }
        applied.add(key); // the server dedupes by key: applying twice is a no-op
        answerOk(req, res, body);
      });
      const caFile = join(dataDir, 'ca.pem');
      writeFileSync(caFile, (await makeTestPki()).caPem);
      const child = spawn(process.execPath, [join(import.meta.dirname, 'support/queue-crash-child.ts'), dataDir, String(fx.server.port), caFile, String(N)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      running.child = child;
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      assert.equal(signal, 'SIGKILL', `child exited with ${code}`);
      assert.equal(order.length, KILL_AT);

      // What the killed process left on disk.
      const db = new DatabaseSync(join(dataDir, 'queue.sqlite'));
      const states = (db.prepare('SELECT state FROM queue ORDER BY seq').all() as { state: string }[]).map((r) => r.state);
      db.close();
      assert.deepEqual(states.slice(0, KILL_AT - 1), Array(KILL_AT - 1).fill('delivered'));
      assert.equal(states[KILL_AT - 1], 'sending');
      assert.deepEqual(states.slice(KILL_AT), Array(N - KILL_AT).fill('pending'));

      const gateway = await fx.restart();
      await until(async () => (await gateway.queue.list()).every((item) => item.state === 'delivered'), 10_000, 'all delivered');
      const counts = new Map<string, number>();
      for (const key of order) counts.set(key, (counts.get(key) ?? 0) + 1);
      for (let n = 0; n < N; n += 1) assert.ok(counts.get(`key-${n}`)! >= 1, `key-${n} never arrived`);
      const twice = [...counts].filter(([, c]) => c > 1).map(([key]) => key);
      assert.deepEqual(twice, [`key-${KILL_AT - 1}`], 'only the item in flight at the kill is sent again');
      assert.equal(applied.size, N);
      assert.deepEqual(order.filter((key, i) => order.indexOf(key) === i), Array.from({ length: N }, (_, n) => `key-${n}`), 'creation order');
    } finally {
      await fx.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
