import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBucket } from '../src/resilience/token-bucket.ts';
import { expectFailure } from './support/envelope-assert.ts';
import { answerOk, startResilienceFixture, type Behaviour, type ResilienceFixture } from './support/resilience-fixture.ts';

/** Answers 200 after `ms`. */
function slow(ms: number): Behaviour {
  return (req, res, body) => setTimeout(() => answerOk(req, res, body), ms);
}

describe('limits (DESIGN §5 "Limits")', () => {
  let fx: ResilienceFixture;
  afterEach(() => fx.close());

  it('a call finding no token fails at once as rate_limited/local_limit with retryAfterMs, sending nothing', async () => {
    fx = await startResilienceFixture({ service: { limits: { ratePerMinute: 6 } } }); // burst 1, a token per 10 s
    const first = await fx.gateway.call('shop.item', { id: 'a' });
    assert.equal(first.ok, true, JSON.stringify(first));
    const requests = fx.requests;
    const started = performance.now();
    const second = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(second, { kind: 'rate_limited', reason: 'local_limit', retryable: true, retryAfterMs: [9000, 10_000] });
    assert.ok(performance.now() - started < 50);
    assert.equal(fx.requests, requests);
    assert.equal(fx.audit.at(-1)!.attempts, 0);
  });

  it('the burst is max(1, ratePerMinute / 6)', async () => {
    fx = await startResilienceFixture({ service: { limits: { ratePerMinute: 60 } } });
    const results = await Promise.all(Array.from({ length: 12 }, () => fx.gateway.call('shop.item', { id: 'a' })));
    assert.equal(results.filter((r) => r.ok).length, 10);
  });

  it('excess calls wait in a queue of 4 x concurrency; beyond it they fail at once', async () => {
    fx = await startResilienceFixture({ service: { limits: { concurrency: 1 } } });
    fx.behave(slow(150));
    const results = await Promise.all(Array.from({ length: 7 }, () => fx.gateway.call('shop.item', { id: 'a' })));
    assert.equal(results.filter((r) => r.ok).length, 5, '1 running + 4 waiting');
    for (const r of results.filter((r) => !r.ok)) expectFailure(r, { kind: 'rate_limited', reason: 'local_limit', retryable: true });
    assert.equal(fx.requests, 5);
  });

  it('a waiting call whose deadline passes ends as local_limit within the deadline', async () => {
    fx = await startResilienceFixture({ service: { limits: { concurrency: 1 }, requests: [{ methods: ['GET'], path: '/item/*' }] } });
    fx.behave(slow(800));
    const running = fx.gateway.request('shop', { path: '/item/a' });
    const started = performance.now();
    const waiting = await fx.gateway.request('shop', { path: '/item/b', timeoutMs: 300 });
    expectFailure(waiting, { kind: 'rate_limited', reason: 'local_limit', retryable: true });
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 280 && elapsed < 400, `elapsed ${elapsed}`);
    assert.equal((await running).ok, true);
    assert.equal(fx.requests, 1);
  });

  it('a waiting call the caller aborts ends at once as cancelled', async () => {
    fx = await startResilienceFixture({ service: { limits: { concurrency: 1 } } });
    fx.behave(slow(500));
    const controller = new AbortController();
    const running = fx.gateway.call('shop.item', { id: 'a' });
    const waiting = fx.gateway.call('shop.item', { id: 'b' }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    expectFailure(await waiting, { kind: 'cancelled', reason: 'aborted', retryable: false });
    assert.ok(performance.now() - started < 200);
    assert.equal((await running).ok, true);
  });

  it('a renderer looping on calls is throttled without starving main', async () => {
    fx = await startResilienceFixture();
    fx.behave(slow(100));
    const flood = Array.from({ length: 300 }, () => fx.gateway.call('shop.item', { id: 'loop' }, { caller: 'renderer' }));
    const main = await fx.gateway.call('shop.item', { id: 'main' });
    assert.equal(main.ok, true, JSON.stringify(main));
    const results = await Promise.all(flood);
    const refused = results.filter((r) => !r.ok);
    assert.ok(refused.length >= 200, `refused ${refused.length}`);
    for (const r of refused) expectFailure(r, { kind: 'rate_limited', reason: 'local_limit', retryable: true });
    assert.ok(fx.requests <= 101, `sent ${fx.requests}`);
  });
});

describe('per-role limits from the policy (roles:)', () => {
  let fx: ResilienceFixture;
  afterEach(() => fx.close());

  it('applies a role\'s own ratePerMinute (burst max(1, rate / 6)), sending nothing past it', async () => {
    fx = await startResilienceFixture({ roles: { renderer: { ratePerMinute: 6 } } });
    fx.behave(answerOk);
    const first = await fx.gateway.call('shop.item', { id: 'a' }, { caller: 'renderer' });
    assert.equal(first.ok, true, JSON.stringify(first));
    const requests = fx.requests;
    const second = await fx.gateway.call('shop.item', { id: 'b' }, { caller: 'renderer' });
    expectFailure(second, { kind: 'rate_limited', reason: 'local_limit', retryable: true });
    assert.ok(!second.ok && second.error.retryAfterMs! > 5000, JSON.stringify(second));
    assert.equal(fx.requests, requests);
    const main = await fx.gateway.call('shop.item', { id: 'c' });
    assert.equal(main.ok, true, 'main is never limited per role');
  });

  it('applies a role\'s own inFlight cap', async () => {
    fx = await startResilienceFixture({ roles: { renderer: { inFlight: 1 } } });
    fx.behave(slow(100));
    const [a, b] = await Promise.all([
      fx.gateway.call('shop.item', { id: 'a' }, { caller: 'renderer' }),
      fx.gateway.call('shop.item', { id: 'b' }, { caller: 'renderer' }),
    ]);
    assert.equal(a.ok, true, JSON.stringify(a));
    expectFailure(b, { kind: 'rate_limited', reason: 'local_limit', retryable: true });
  });
});

describe('token bucket', () => {
  it('refills continuously and says how long until the next token', () => {
    const bucket = new TokenBucket(60, 0); // burst 10, a token a second
    for (let i = 0; i < 10; i += 1) assert.equal(bucket.take(0), 0);
    assert.equal(bucket.take(0), 1000);
    assert.equal(bucket.take(500), 500);
    assert.equal(bucket.take(1000), 0);
    assert.equal(bucket.take(100_000), 0, 'never more than the burst');
  });
});
