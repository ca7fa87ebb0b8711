/**
 * createClient: the typed caller UI code uses over `window.gatehouse`. It passes calls through,
 * never rejects (a refused or broken bridge becomes an envelope), and relays status events.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient, type GatehouseBridge } from '../src/client/index.ts';

type Ops = {
  'weather.getForecast': { params: { city: string; days?: number }; result: { city: string } };
  'weather.ping': { params: Record<string, never>; result: unknown };
};

function bridge(answer: (...args: unknown[]) => Promise<unknown>): GatehouseBridge & { seen: unknown[][] } {
  const seen: unknown[][] = [];
  return {
    seen,
    call: (...args: unknown[]) => {
      seen.push(args);
      return answer(...args);
    },
  };
}

describe('createClient', () => {
  it('passes operation, params and options through and returns the envelope', async () => {
    const b = bridge(async () => ({ ok: true, status: 200, data: { city: 'Oslo' }, correlationId: 'c' }));
    const client = createClient<Ops>(b);
    const result = await client.call('weather.getForecast', { city: 'Oslo' }, { correlationId: 'c' });
    assert.deepEqual(b.seen[0], ['weather.getForecast', { city: 'Oslo' }, { correlationId: 'c' }]);
    assert.equal(result.ok && result.data.city, 'Oslo');
  });

  it('lets params be left out when none is required', async () => {
    const b = bridge(async () => ({ ok: true, status: 204, data: null, correlationId: 'c' }));
    await createClient<Ops>(b).call('weather.ping');
    assert.deepEqual(b.seen[0], ['weather.ping', undefined, undefined]);
  });

  it('turns a rejection (refused sender, uncloneable params) into an internal_error envelope', async () => {
    const client = createClient<Ops>(bridge(async () => {
      throw new Error("Error invoking remote method 'gatehouse:call': Error: gatehouse: request refused");
    }));
    const result = await client.call('weather.getForecast', { city: 'x' }, { correlationId: 'corr-7' });
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.error.kind, 'internal_error');
    assert.equal(result.error.correlationId, 'corr-7');
    assert.equal(result.error.retryable, false);
    assert.doesNotMatch(result.error.message, /remote method|refused/);
  });

  it('turns a malformed answer into an internal_error envelope', async () => {
    for (const answer of [undefined, null, 'ok', { ok: false }, { ok: 'yes' }]) {
      const result = await createClient<Ops>(bridge(async () => answer)).call('weather.ping');
      assert.equal(result.ok, false, JSON.stringify(answer));
    }
  });

  it('relays status events, and gives a no-op unsubscribe when the bridge has none', () => {
    const listeners = new Set<(status: never) => void>();
    const b: GatehouseBridge = {
      call: async () => null,
      onStatus: (listener) => {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    const off = createClient<Ops>(b).onStatus(() => {});
    assert.equal(listeners.size, 1);
    off();
    assert.equal(listeners.size, 0);
    assert.doesNotThrow(() => createClient<Ops>({ call: async () => null }).onStatus(() => {})());
  });

  it('requires a bridge', () => {
    assert.throws(() => createClient<Ops>(undefined as unknown as GatehouseBridge), /window\.gatehouse/);
  });
});
