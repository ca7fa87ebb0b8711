import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { LookupFunction } from '../src/net/dispatcher.ts';
import { expectFailure } from './support/envelope-assert.ts';
import { answer, answerOk, startResilienceFixture, type ResilienceFixture } from './support/resilience-fixture.ts';
import { sleep, until } from './support/routes.ts';

/** A resolver that fails with EAI_AGAIN (no network) until `up` is set. */
function flakyResolver(): LookupFunction & { up: boolean } {
  const lookup = Object.assign(
    (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
      setImmediate(() => {
        if (!lookup.up) return callback(Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' }));
        if ((options as { all?: boolean }).all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
        else callback(null, '127.0.0.1', 4);
      });
    },
    { up: false },
  );
  return lookup as unknown as LookupFunction & { up: boolean };
}

describe('offline and the durable queue (DESIGN §2 "Connectivity and the offline queue")', () => {
  let fx: ResilienceFixture;
  afterEach(() => fx.close());

  it('setOnline(false): events, non-queue calls fail as offline at once, sending nothing', async () => {
    fx = await startResilienceFixture();
    fx.gateway.setOnline(false);
    fx.gateway.setOnline(false);
    assert.deepEqual(fx.events, [{ type: 'offline' }]);
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(result, { kind: 'offline', reason: 'no_network', retryable: true });
    assert.equal(fx.requests, 0);
    fx.gateway.setOnline(true);
    assert.deepEqual(fx.events, [{ type: 'offline' }, { type: 'online' }]);
  });

  it('queues an offline: queue call, lists it, replays it once online with its idempotency key', async () => {
    fx = await startResilienceFixture();
    fx.gateway.setOnline(false);
    const result = await fx.gateway.call('shop.order', { body: { sku: 'x' } }, { idempotencyKey: 'k-1' });
    const error = expectFailure(result, { kind: 'offline', reason: 'queued', retryable: true });
    assert.ok(!result.ok && result.queued !== undefined);
    const id = result.queued.id;
    assert.equal(error.kind, 'offline');
    const [item] = await fx.gateway.queue.list();
    assert.equal(item!.id, id);
    assert.equal(item!.state, 'pending');
    assert.equal(item!.operation, 'shop.order');
    assert.equal(item!.caller, 'main');
    assert.equal(item!.attempts, 0);
    assert.ok(Date.parse(item!.expiresAt) - Date.parse(item!.createdAt) === 86_400_000);
    assert.equal(fx.audit.at(-1)!.reason, 'queued');
    assert.equal(fx.requests, 0);

    fx.gateway.setOnline(true);
    await until(async () => (await fx.gateway.queue.list())[0]!.state === 'delivered', 3000, 'delivered');
    assert.equal(fx.keys.get('k-1'), 1);
    assert.deepEqual(
      fx.events.filter((e) => e.type === 'queue').map((e) => (e.type === 'queue' ? e.state : '')),
      ['pending', 'sending', 'delivered'],
    );
    assert.equal(fx.audit.at(-1)!.outcome, 'ok');
    assert.equal(fx.audit.at(-1)!.operation, 'shop.order');
  });

  it('generates an idempotency key when absent; keeps creation order; a 4xx fails one item without blocking the rest', async () => {
    fx = await startResilienceFixture();
    fx.gateway.setOnline(false);
    for (let n = 0; n < 3; n += 1) await fx.gateway.call('shop.order', { body: { n } });
    const order: number[] = [];
    fx.behave((req, res, body) => {
      const n = (JSON.parse(body) as { n: number }).n;
      order.push(n);
      (n === 1 ? answer(422) : answerOk)(req, res, body);
    });
    fx.gateway.setOnline(true);
    await until(async () => (await fx.gateway.queue.list()).every((i) => i.state !== 'pending' && i.state !== 'sending'), 3000, 'replayed');
    assert.deepEqual(order, [0, 1, 2]);
    assert.deepEqual((await fx.gateway.queue.list()).map((i) => i.state), ['delivered', 'failed', 'delivered']);
    assert.equal(fx.keys.size, 3);
  });

  it('cancel() removes a pending item from replay; expired items are never sent', async () => {
    fx = await startResilienceFixture({ operations: { shortLived: { method: 'PUT', path: '/short', offline: 'queue', limits: { queueTtlMs: 1 } } } });
    fx.gateway.setOnline(false);
    const a = await fx.gateway.call('shop.order', { body: { n: 1 } });
    const b = await fx.gateway.call('shop.shortLived', {});
    assert.ok(!a.ok && a.queued && !b.ok && b.queued);
    assert.equal(await fx.gateway.queue.cancel(a.queued.id), true);
    assert.equal(await fx.gateway.queue.cancel(a.queued.id), false);
    await new Promise((resolve) => setTimeout(resolve, 5));
    fx.gateway.setOnline(true);
    await until(async () => (await fx.gateway.queue.list())[1]!.state === 'expired', 3000, 'expired');
    assert.deepEqual((await fx.gateway.queue.list()).map((i) => i.state), ['cancelled', 'expired']);
    assert.equal(fx.requests, 0);
  });

  it('entries expire while still offline: listed as expired, not cancellable, not counted as pending', async () => {
    fx = await startResilienceFixture({ operations: { shortLived: { method: 'PUT', path: '/short', offline: 'queue', limits: { queueTtlMs: 50 } } } });
    fx.gateway.setOnline(false);
    const queued = await fx.gateway.call('shop.shortLived', {});
    assert.ok(!queued.ok && queued.queued);
    await sleep(80);
    assert.deepEqual((await fx.gateway.queue.list()).map((i) => i.state), ['expired'], 'expired without going online');
    assert.equal(await fx.gateway.queue.cancel(queued.queued.id), false);
    await fx.gateway.close();
    assert.deepEqual(await fx.gateway.queue.list(), [], 'a closed queue lists nothing instead of failing');
  });

  it('a transient failure keeps the item pending; it is delivered when the server comes back', async () => {
    fx = await startResilienceFixture();
    fx.gateway.setOnline(false);
    await fx.gateway.call('shop.order', { body: { n: 1 } }, { idempotencyKey: 'back' });
    fx.behave(answer(503));
    fx.gateway.setOnline(true);
    await until(() => fx.events.filter((e) => e.type === 'queue' && e.state === 'pending').length === 2, 5000, 'back to pending');
    assert.equal((await fx.gateway.queue.list())[0]!.state, 'pending');
    fx.behave(answerOk);
    await until(async () => (await fx.gateway.queue.list())[0]!.state === 'delivered', 5000, 'delivered after backoff');
    assert.ok(fx.keys.get('back')! >= 2);
  });

  it('a new gateway on the same dataDir replays what is left once online; files are private', async () => {
    fx = await startResilienceFixture();
    fx.gateway.setOnline(false);
    await fx.gateway.call('shop.order', { body: { n: 1 } }, { idempotencyKey: 'left' });
    await fx.closeGateway();
    assert.equal(statSync(join(fx.dataDir, 'queue.sqlite')).mode & 0o777, 0o600);
    assert.equal(statSync(fx.dataDir).mode & 0o077, 0);
    await fx.restart();
    await until(async () => (await fx.gateway.queue.list())[0]?.state === 'delivered', 3000, 'replayed after restart');
    assert.equal(fx.keys.get('left'), 1);
  });

  it('detects offline when name resolution keeps failing for lack of network, and online at the next answer', async () => {
    const lookup = flakyResolver();
    fx = await startResilienceFixture({ lookup, service: { retries: 0 } });
    await fx.gateway.call('shop.item', { id: 'a' });
    assert.equal(fx.events.length, 0);
    await fx.gateway.call('shop.item', { id: 'a' });
    assert.deepEqual([...fx.events], [{ type: 'offline' }]);
    const queued = await fx.gateway.call('shop.order', { body: { n: 1 } });
    assert.ok(!queued.ok && queued.queued !== undefined, 'queued while detected offline');
    lookup.up = true;
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.deepEqual(fx.events.filter((e) => e.type !== 'queue'), [{ type: 'offline' }, { type: 'online' }]);
    await until(async () => (await fx.gateway.queue.list())[0]!.state === 'delivered', 3000, 'replayed when back online');
  });
});
