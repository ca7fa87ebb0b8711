import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseFailure } from '../src/errors.ts';
import { DEFAULT_RETRY_SETTINGS, decideRetry } from '../src/resilience/retry-decision.ts';
import { RetryBudget } from '../src/resilience/retry-budget.ts';
import { expectFailure, outcomeOf } from './support/envelope-assert.ts';
import { answer, answerOk, reset, startResilienceFixture, type Behaviour, type ResilienceFixture } from './support/resilience-fixture.ts';

/** Fails the first `n` requests with `failure`, then answers 200. */
function failFirst(n: number, failure: Behaviour): Behaviour {
  let seen = 0;
  return (req, res, body) => (++seen <= n ? failure(req, res, body) : answerOk(req, res, body));
}

describe('retries (DESIGN §5 "Retries")', () => {
  // A fresh gateway per test, so one test's failures never open the breaker for the next.
  let fx: ResilienceFixture;
  beforeEach(async () => {
    fx = await startResilienceFixture({ service: { limits: { timeoutMs: 3000 } } });
  });
  afterEach(() => fx.close());

  it('retries an idempotent GET after a reset and reports the attempts in the result and one audit event', async () => {
    fx.behave(failFirst(1, reset));
    const before = fx.audit.length;
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(result.attempts, 2);
    assert.equal(fx.audit.length, before + 1);
    assert.equal(fx.audit.at(-1)!.attempts, 2);
    assert.equal(fx.audit.at(-1)!.outcome, 'ok');
  });

  it('gives up after retries (3 attempts by default) with the last failure', async () => {
    fx.behave(answer(503));
    const requests = fx.requests;
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(result, { kind: 'service_unavailable', retryable: true, status: 503 });
    assert.equal(fx.requests - requests, 3);
    assert.equal(result.attempts, 3);
    assert.equal(fx.audit.at(-1)!.attempts, 3);
  });

  it('honours Retry-After within the deadline', async () => {
    fx.behave(failFirst(1, answer(503, '1')));
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    const elapsed = performance.now() - started;
    assert.equal(result.ok, true, outcomeOf(result));
    assert.ok(elapsed >= 950 && elapsed < 2500, `elapsed ${elapsed}`);
  });

  it('ends the call at once when Retry-After is beyond the deadline, keeping retryAfterMs', async () => {
    fx.behave(answer(429, '60'));
    const requests = fx.requests;
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(result, { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 60_000 });
    assert.ok(performance.now() - started < 500);
    assert.equal(fx.requests - requests, 1);
  });

  it('reads an absurdly long Retry-After as a year, not as no Retry-After at all', async () => {
    fx.behave(answer(429, '99999999999'));
    const requests = fx.requests;
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(result, { kind: 'rate_limited', retryable: true, status: 429, retryAfterMs: 365 * 24 * 3600 * 1000 });
    assert.equal(fx.requests - requests, 1, 'not retried with the usual backoff');
  });

  it('does not retry a non-idempotent POST', async () => {
    fx.behave(reset);
    const requests = fx.requests;
    const result = await fx.gateway.call('shop.order', { body: { n: 1 } });
    expectFailure(result, { kind: 'connection_error', retryable: true });
    assert.equal(fx.requests - requests, 1);
  });

  it('retries a POST that carries an idempotency key, sending the same key each time', async () => {
    fx.behave(failFirst(2, answer(502)));
    const result = await fx.gateway.call('shop.order', { body: { n: 2 } }, { idempotencyKey: 'order-2' });
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(fx.keys.get('order-2'), 3);
  });

  it('does not retry a 4xx or a 500', async () => {
    for (const status of [400, 404, 500]) {
      fx.behave(answer(status));
      const requests = fx.requests;
      const result = await fx.gateway.call('shop.item', { id: 'a' });
      assert.equal(result.ok, false);
      assert.equal(fx.requests - requests, 1, `status ${status}`);
    }
  });

  it('ends promptly as cancelled when the caller aborts during a backoff wait', async () => {
    fx.behave(answer(503, '2'));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'a' }, { signal: controller.signal });
    const elapsed = performance.now() - started;
    expectFailure(result, { kind: 'cancelled', reason: 'aborted', retryable: false });
    assert.ok(elapsed < 400, `elapsed ${elapsed}`);
  });
});

describe('the deadline covers every attempt and wait (UXR-02)', () => {
  let fx: ResilienceFixture;
  before(async () => {
    fx = await startResilienceFixture({ service: { limits: { timeoutMs: 600 } } });
  });
  after(() => fx.close());

  it('a slow answer ends as timeout at the deadline', async () => {
    fx.behave(() => {}); // never answers
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'slow' });
    const elapsed = performance.now() - started;
    expectFailure(result, { kind: 'timeout', retryable: true });
    assert.ok(elapsed >= 550 && elapsed < 800, `elapsed ${elapsed}`);
  });

  it('resets retried with backoff still end within the deadline plus a small margin', async () => {
    fx.behave(reset);
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      const result = await fx.gateway.call('shop.item', { id: 'x' });
      assert.equal(result.ok, false);
      assert.ok(performance.now() - started < 700);
    }
  });
});

describe('per-attempt timeouts: headersTimeoutMs and idleTimeoutMs (DESIGN §4 "Hostile responses")', () => {
  let fx: ResilienceFixture;
  before(async () => {
    fx = await startResilienceFixture({ service: { limits: { timeoutMs: 3000, headersTimeoutMs: 200, idleTimeoutMs: 200 } } });
  });
  after(() => fx.close());

  /** Sends the headers and the start of a body, then stalls. */
  const stallInBody: Behaviour = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
    res.write('{"ok":');
  };

  it('a stuck attempt ends at headersTimeoutMs and the retry answers, well within the deadline', async () => {
    fx.behave(failFirst(1, () => {})); // the first request never gets an answer
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    const elapsed = performance.now() - started;
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(result.attempts, 2);
    assert.ok(elapsed >= 190 && elapsed < 1500, `elapsed ${elapsed}`);
  });

  it('a body that stops arriving ends at idleTimeoutMs as timeout/body_timeout, then is retried', async () => {
    fx.behave(failFirst(1, stallInBody));
    const result = await fx.gateway.call('shop.item', { id: 'b' });
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(result.attempts, 2);
    fx.behave(stallInBody);
    const started = performance.now();
    const failed = await fx.gateway.call('shop.item', { id: 'c' });
    expectFailure(failed, { kind: 'timeout', reason: 'body_timeout', retryable: true });
    assert.equal(failed.attempts, 3);
    assert.ok(performance.now() - started < 2500, 'three stalled attempts end before the 3 s deadline');
  });

  it('limits redirects per attempt: a retry after a redirected attempt may redirect again', async () => {
    const chained = await startResilienceFixture({ service: { limits: { timeoutMs: 3000, headersTimeoutMs: 200, maxRedirects: 1 } } });
    try {
      let finals = 0;
      chained.behave((req, res, body) => {
        if (req.url?.endsWith('/final')) {
          if (++finals === 1) return; // the first attempt's second hop hangs
          return answerOk(req, res, body);
        }
        res.writeHead(302, { location: '/v1/final' }).end();
      });
      const result = await chained.gateway.call('shop.item', { id: 'e' });
      assert.equal(result.ok, true, outcomeOf(result));
      assert.equal(result.attempts, 2);
      assert.equal(chained.audit.at(-1)!.redirects, 2, 'the audit counts every hop of the call');
    } finally {
      await chained.close();
    }
  });

  it('the whole-call deadline still wins over a longer per-attempt timeout', async () => {
    const short = await startResilienceFixture({ service: { limits: { timeoutMs: 300, headersTimeoutMs: 5000 } } });
    try {
      short.behave(() => {});
      const started = performance.now();
      const result = await short.gateway.call('shop.item', { id: 'd' });
      expectFailure(result, { kind: 'timeout', reason: 'deadline', retryable: true });
      assert.ok(performance.now() - started < 800);
    } finally {
      await short.close();
    }
  });
});

describe('retry decisions (pure)', () => {
  const settings = DEFAULT_RETRY_SETTINGS;
  const failure = (status?: number, retryAfterMs?: number, reason: 'upstream_status' | 'connection_reset' | 'deadline' = 'upstream_status') =>
    new GatehouseFailure(reason, 'test', status === undefined ? {} : { kind: status === 429 ? 'rate_limited' : 'service_unavailable', status, retryAfterMs });

  it('retries resets and 429/502/503/504 with full-jitter exponential backoff', () => {
    assert.deepEqual(decideRetry({ failure: failure(undefined, undefined, 'connection_reset'), retry: 1, remainingMs: 10_000, settings, random: 0.5 }), { retry: true, delayMs: 100 });
    assert.deepEqual(decideRetry({ failure: failure(503), retry: 3, remainingMs: 10_000, settings, random: 0.5 }), { retry: true, delayMs: 400 });
    assert.deepEqual(decideRetry({ failure: failure(504), retry: 10, remainingMs: 10_000, settings, random: 0.999 }), { retry: true, delayMs: 4995 });
  });

  it('never retries the call deadline, a 500 or a 400', () => {
    assert.equal(decideRetry({ failure: failure(undefined, undefined, 'deadline'), retry: 1, remainingMs: 10_000, settings, random: 0 }).retry, false);
    for (const status of [500, 400]) {
      const f = new GatehouseFailure('upstream_status', 'x', { kind: status === 500 ? 'server_error' : 'client_error', status });
      assert.equal(decideRetry({ failure: f, retry: 1, remainingMs: 10_000, settings, random: 0 }).retry, false);
    }
  });

  it('uses Retry-After up to its cap and only when it fits the deadline', () => {
    assert.deepEqual(decideRetry({ failure: failure(503, 2000), retry: 1, remainingMs: 10_000, settings, random: 0 }), { retry: true, delayMs: 2000 });
    assert.equal(decideRetry({ failure: failure(503, 9990), retry: 1, remainingMs: 10_000, settings, random: 0 }).retry, false);
    assert.equal(decideRetry({ failure: failure(503, 31_000), retry: 1, remainingMs: 100_000, settings, random: 0 }).retry, false);
  });

  it('a retry budget allows ratio x calls plus a floor within its window', () => {
    const budget = new RetryBudget({ ratio: 0.2, floor: 2, windowMs: 1000 });
    for (let i = 0; i < 10; i += 1) budget.recordCall(0);
    const allowed = Array.from({ length: 10 }, () => budget.tryRetry(10)).filter(Boolean).length;
    assert.equal(allowed, 4);
    assert.equal(budget.tryRetry(2000), true, 'the window slides');
  });
});

describe('the retry budget counts calls that were sent (DESIGN §4.6)', () => {
  it('calls refused by a role limit do not enlarge the budget of the calls that follow', async () => {
    const upstreamRequests = async (flood: boolean): Promise<number> => {
      const fx = await startResilienceFixture({ roles: { renderer: { ratePerMinute: 6, inFlight: 1 } } });
      try {
        fx.behave(answerOk);
        if (flood) await Promise.all(Array.from({ length: 2000 }, (_, i) => fx.gateway.call('shop.item', { id: String(i) }, { caller: 'renderer' })));
        fx.behave(answer(429));
        const before = fx.requests;
        await Promise.all(Array.from({ length: 50 }, (_, i) => fx.gateway.call('shop.item', { id: `m${i}` })));
        return fx.requests - before;
      } finally {
        await fx.close();
      }
    };
    const quiet = await upstreamRequests(false);
    const flooded = await upstreamRequests(true);
    assert.ok(flooded <= quiet + 2, `${flooded} upstream requests after a refused flood, ${quiet} without`);
  });
});
