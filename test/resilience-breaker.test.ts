import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GatehouseFailure } from '../src/errors.ts';
import { ServiceCircuit } from '../src/resilience/service-circuit.ts';
import { sleep } from './support/routes.ts';
import { expectFailure } from './support/envelope-assert.ts';
import { answer, answerOk, reset, startResilienceFixture, type ResilienceFixture } from './support/resilience-fixture.ts';

describe('circuit breaker per service (DESIGN §4.6)', () => {
  let fx: ResilienceFixture;
  before(async () => {
    fx = await startResilienceFixture({ service: { retries: 0 } });
  });
  after(() => fx.close());

  it('is closed before any failure', () => {
    assert.deepEqual(fx.gateway.circuits(), [{ service: 'shop', state: 'closed' }]);
  });

  it('a 4xx or 500 answer does not count as a transient failure', async () => {
    fx.behave(answer(404));
    for (let i = 0; i < 6; i += 1) await fx.gateway.call('shop.item', { id: 'a' });
    assert.equal(fx.gateway.circuits()[0]!.state, 'closed');
  });

  it('opens after transient failures; then fails at once as circuit_open, sending nothing', async () => {
    fx.behave(reset);
    for (let i = 0; i < 3; i += 1) await fx.gateway.call('shop.item', { id: 'a' });
    fx.behave(answer(503));
    for (let i = 0; i < 25; i += 1) await fx.gateway.call('shop.item', { id: 'a' });
    const status = fx.gateway.circuits()[0]!;
    assert.equal(status.state, 'open');
    assert.ok(status.retryAfterMs! > 9000 && status.retryAfterMs! <= 10_000, JSON.stringify(status));

    fx.behave(answerOk);
    const requests = fx.requests;
    const connections = fx.server.connections;
    const started = performance.now();
    const result = await fx.gateway.call('shop.item', { id: 'a' });
    expectFailure(result, { kind: 'service_unavailable', reason: 'circuit_open', retryable: true, retryAfterMs: [8000, 10_000] });
    assert.ok(performance.now() - started < 20);
    assert.equal(fx.requests, requests);
    assert.equal(fx.server.connections, connections);
    assert.equal(fx.audit.at(-1)!.reason, 'circuit_open');
  });
});

describe('half-open probe (cockatiel SamplingBreaker)', () => {
  const transient = (): never => {
    throw new GatehouseFailure('connection_reset', 'test');
  };
  const signal = new AbortController().signal;

  async function openCircuit(circuit: ServiceCircuit): Promise<void> {
    for (let i = 0; i < 20; i += 1) await circuit.execute(transient, { signal }).catch(() => {});
    assert.equal(circuit.status().state, 'open');
  }

  it('lets one probe through after halfOpenAfterMs; its success closes the circuit', async () => {
    const circuit = new ServiceCircuit('s', { halfOpenAfterMs: 100 });
    await openCircuit(circuit);
    await assert.rejects(circuit.execute(() => 'x', { signal }), { reason: 'circuit_open' });
    await sleep(120);
    assert.equal(await circuit.execute(() => 'probe', { signal }), 'probe');
    assert.equal(circuit.status().state, 'closed');
  });

  it('a failed probe reopens it', async () => {
    const circuit = new ServiceCircuit('s', { halfOpenAfterMs: 100 });
    await openCircuit(circuit);
    await sleep(120);
    await assert.rejects(circuit.execute(transient, { signal }), { reason: 'connection_reset' });
    assert.equal(circuit.status().state, 'open');
  });

  it('a cancelled probe learned nothing: the circuit stays open and the next call probes', async () => {
    const circuit = new ServiceCircuit('s', { halfOpenAfterMs: 100 });
    await openCircuit(circuit);
    await sleep(120);
    const cancelled = (): never => {
      throw new GatehouseFailure('aborted', 'caller gave up');
    };
    await assert.rejects(circuit.execute(cancelled, { signal }), { reason: 'aborted' });
    assert.equal(circuit.status().state, 'open');
    assert.equal(circuit.status().retryAfterMs, 0, 'due for a probe at once');
    await assert.rejects(circuit.execute(transient, { signal }), { reason: 'connection_reset' }, 'the next call is the probe');
    assert.equal(circuit.status().state, 'open');
  });

  it('a call waiting for the probe verdict still ends with its own signal', async () => {
    const circuit = new ServiceCircuit('s', { halfOpenAfterMs: 50 });
    await openCircuit(circuit);
    await sleep(70);
    const probe = circuit.execute(() => sleep(300).then(() => 'late'), { signal });
    const waiting = circuit.execute(() => 'second', { signal: AbortSignal.timeout(50) });
    const started = performance.now();
    await assert.rejects(waiting, { name: 'TimeoutError' });
    assert.ok(performance.now() - started < 150);
    assert.equal(await probe, 'late');
  });
});
