/**
 * Load: 10,000 calls at 256 concurrent against a server that resets 10% of requests and answers
 * 503 to 5%. Every call ends with a result or an envelope, nothing rejects unhandled, no socket or
 * timer is left behind, and memory stays steady. Prints its numbers.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { CallResult } from '../src/index.ts';
import { answer, answerOk, reset, startResilienceFixture } from './support/resilience-fixture.ts';

const CALLS = 10_000;
const CONCURRENCY = 256;
const WARM_UP = 1000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.getActiveResourcesInfo()) counts[name] = (counts[name] ?? 0) + 1;
  return counts;
}

function memory(): { heapMiB: number; rssMiB: number } {
  gc();
  const { heapUsed, rss } = process.memoryUsage();
  return { heapMiB: Math.round(heapUsed / 2 ** 20), rssMiB: Math.round(rss / 2 ** 20) };
}

describe('load (UXR-02, FR-08)', () => {
  it(`${CALLS} calls at ${CONCURRENCY} concurrent against 10% resets and 5% 503s all end`, async () => {
    let unhandled = 0;
    const onUnhandled = (): void => {
      unhandled += 1;
    };
    process.on('unhandledRejection', onUnhandled);
    const before = resources();
    const fx = await startResilienceFixture();
    fx.behave((req, res, body) => {
      const roll = Math.random();
      (roll < 0.1 ? reset : roll < 0.15 ? answer(503) : answerOk)(req, res, body);
    });
    const outcomes = new Map<string, number>();
    let next = 0;
    let memoryAfterWarmUp = memory();
    const run = async (count: number): Promise<void> => {
      const end = next + count;
      const worker = async (): Promise<void> => {
        while (next < end) {
          next += 1;
          const result: CallResult = await fx.gateway.call('shop.item', { id: String(next) });
          const key = result.ok ? 'ok' : `${result.error.kind}${result.error.reason === undefined ? '' : `/${result.error.reason}`}`;
          outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
        }
      };
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    };
    const started = performance.now();
    await run(WARM_UP);
    memoryAfterWarmUp = memory();
    await run(CALLS - WARM_UP);
    const seconds = (performance.now() - started) / 1000;
    const memoryAfter = memory();
    const attempts = fx.audit.reduce((sum, event) => sum + event.attempts, 0);
    const requests = fx.requests;
    const connections = fx.server.connections;
    await fx.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const after = resources();
    process.off('unhandledRejection', onUnhandled);

    const ended = [...outcomes.values()].reduce((a, b) => a + b, 0);
    console.log(
      JSON.stringify(
        {
          calls: ended,
          seconds: Math.round(seconds * 10) / 10,
          callsPerSecond: Math.round(ended / seconds),
          outcomes: Object.fromEntries(outcomes),
          attempts,
          requestsSeen: requests,
          connections,
          auditEvents: fx.audit.length,
          memoryAfterWarmUp,
          memoryAfter,
          resourcesBefore: before,
          resourcesAfter: after,
          unhandled,
        },
        null,
        1,
      ),
    );
    assert.equal(ended, CALLS);
    assert.equal(fx.audit.length, CALLS, 'one audit event per call');
    assert.equal(unhandled, 0);
    assert.ok((outcomes.get('ok') ?? 0) > CALLS * 0.9, 'retries recover most failures');
    for (const [name, count] of Object.entries(after)) assert.ok(count <= (before[name] ?? 0), `leaked ${name}: ${JSON.stringify({ before, after })}`);
    assert.ok(memoryAfter.heapMiB - memoryAfterWarmUp.heapMiB < 20, `heap grew ${JSON.stringify({ memoryAfterWarmUp, memoryAfter })}`);
  });
});
