/**
 * What an allowed renderer may send: the message shape, params size and depth, and prototype
 * tricks — both through the stand-in's structured clone (what Electron delivers) and straight
 * into the checker (what a clone could never produce, for defence in depth).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CALL_CHANNEL, MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH, exposeGateway, type DenialEvent } from '../src/hosts/electron/index.ts';
import { checkCallMessage } from '../src/hosts/electron/payload.ts';
import { StandInIpcMain, StandInWebContents } from './support/electron-standin.ts';
import { fakeGateway } from './support/fake-gateway.ts';

function setup() {
  const ipcMain = new StandInIpcMain();
  const gateway = fakeGateway();
  const denials: DenialEvent[] = [];
  const bridge = exposeGateway(gateway, { ipcMain, onDenied: (event) => denials.push(event) });
  const win = new StandInWebContents('app://main/index.html');
  bridge.allow(win, { role: 'renderer', origins: ['app://main'] });
  const send = (...args: unknown[]) => ipcMain.invoke(win, win.mainFrame, CALL_CHANNEL, ...args) as Promise<Envelope>;
  return { gateway, denials, send };
}

type Envelope = { ok: true; data: unknown } | { ok: false; error: { kind: string; reason?: string; operation: string; correlationId: string; message: string } };

function sparseArray(): unknown[] {
  const array = [1, 2, 3];
  delete array[1];
  return array;
}

function nested(depth: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

async function assertInvalid(promise: Promise<Envelope>, gateway: { calls: unknown[] }): Promise<Envelope & { ok: false }> {
  const result = await promise;
  assert.equal(result.ok, false);
  assert.equal(result.error.kind, 'invalid_input');
  assert.equal(result.error.reason, 'invalid_params');
  assert.equal(gateway.calls.length, 0, 'the gateway never saw the call');
  return result;
}

describe('electron bridge payloads: size and depth', () => {
  it(`accepts params of exactly ${MAX_PARAMS_BYTES} serialized bytes and refuses one byte more`, async () => {
    const { send, gateway } = setup();
    const overhead = JSON.stringify({ s: '' }).length;
    const fits = { s: 'x'.repeat(MAX_PARAMS_BYTES - overhead) };
    assert.equal(JSON.stringify(fits).length, MAX_PARAMS_BYTES);
    assert.equal((await send({ operation: 'a.b', params: fits })).ok, true);
    const { denials, send: send2, gateway: gateway2 } = setup();
    await assertInvalid(send2({ operation: 'a.b', params: { s: 'x'.repeat(MAX_PARAMS_BYTES - overhead + 1) } }), gateway2);
    assert.equal(denials[0]?.reason, 'params_too_large');
    assert.equal(gateway.calls.length, 1);
  });

  it('counts multi-byte characters and escapes as serialized bytes', async () => {
    const { send, gateway } = setup();
    await assertInvalid(send({ operation: 'a.b', params: { s: 'é'.repeat(MAX_PARAMS_BYTES / 2) } }), gateway);
    const { send: send2, gateway: gateway2 } = setup();
    await assertInvalid(send2({ operation: 'a.b', params: { s: '\n'.repeat(MAX_PARAMS_BYTES / 2) } }), gateway2);
  });

  it('refuses many small values adding up past the cap', async () => {
    const { send, gateway } = setup();
    await assertInvalid(send({ operation: 'a.b', params: { list: Array.from({ length: 300_000 }, () => 1234) } }), gateway);
  });

  it(`accepts nesting of ${MAX_PARAMS_DEPTH} and refuses ${MAX_PARAMS_DEPTH + 1}`, async () => {
    const { send, gateway } = setup();
    assert.equal((await send({ operation: 'a.b', params: nested(MAX_PARAMS_DEPTH) })).ok, true);
    const { send: send2, gateway: gateway2, denials } = setup();
    await assertInvalid(send2({ operation: 'a.b', params: nested(MAX_PARAMS_DEPTH + 1) }), gateway2);
    assert.equal(denials[0]?.reason, 'params_too_deep');
    assert.equal(gateway.calls.length, 1);
  });

  it('refuses arrays nested very deep without exhausting the stack', async () => {
    const { send, gateway } = setup();
    let deep: unknown = [];
    for (let i = 0; i < 1000; i++) deep = [deep];
    await assertInvalid(send({ operation: 'a.b', params: deep }), gateway);
  });
});

describe('electron bridge payloads: shape', () => {
  it('refuses messages that are not { operation, params?, options? }', async () => {
    for (const message of [undefined, null, 'weather.getForecast', 42, [], ['a.b'], { params: {} }, { operation: '' }, { operation: 7 }, { operation: 'x'.repeat(201) }, { operation: 'a.b', extra: 1 }, { operation: 'a.b', options: 'x' }, { operation: 'a.b', options: [] }]) {
      const { send, gateway } = setup();
      await assertInvalid(send(message), gateway);
    }
  });

  it('refuses extra IPC arguments', async () => {
    const { send, gateway } = setup();
    await assertInvalid(send({ operation: 'a.b' }, { operation: 'c.d' }), gateway);
  });

  it('refuses a caller role smuggled in options, and says so in the denial', async () => {
    const { send, gateway, denials } = setup();
    const result = await assertInvalid(send({ operation: 'weather.getForecast', params: {}, options: { caller: 'main' } }), gateway);
    assert.equal(result.error.operation, 'weather.getForecast');
    assert.equal(denials[0]?.reason, 'malformed_payload');
    assert.equal(denials[0]?.detail, 'unexpected option caller');
    assert.equal(denials[0]?.role, 'renderer');
  });

  it('refuses a top-level caller field', async () => {
    const { send, gateway } = setup();
    await assertInvalid(send({ operation: 'a.b', caller: 'main' }), gateway);
  });

  it('cannot carry a function (the clone fails in the renderer) or an AbortSignal', async () => {
    const { send, gateway } = setup();
    await assert.rejects(send({ operation: 'a.b', params: { f: () => 1 } }), /could not be cloned/);
    // Chromium cannot clone a signal at all; Node's clone makes it {}: either way it never arrives.
    const attempt = send({ operation: 'a.b', options: { signal: new AbortController().signal } });
    const outcome = await attempt.then((result) => result, (error: Error) => error);
    if (!(outcome instanceof Error)) {
      assert.equal(outcome.ok, false);
      assert.equal((outcome as { error: { kind: string } }).error.kind, 'invalid_input');
    }
    assert.equal(gateway.calls.length, 0);
  });

  it('refuses bad option values', async () => {
    for (const options of [{ correlationId: 5 }, { idempotencyKey: '' }, { idempotencyKey: 'a b' }, { idempotencyKey: 'x'.repeat(256) }, { idempotencyKey: 'k\r\n' }]) {
      const { send, gateway } = setup();
      await assertInvalid(send({ operation: 'a.b', options }), gateway);
    }
  });

  it('keeps a safe correlation id on a refusal', async () => {
    const { send, gateway } = setup();
    const result = await assertInvalid(send({ operation: 'a.b', extra: 1 }), gateway);
    assert.match(result.error.correlationId, /^[0-9a-f-]{36}$/);
    const { send: send2, gateway: gateway2 } = setup();
    const result2 = await assertInvalid(send2({ operation: 'a.b', params: nested(80), options: { correlationId: 'corr-1' } }), gateway2);
    assert.equal(result2.error.correlationId, 'corr-1');
  });

  it('refuses values that are not JSON: Map, Set, Date, typed arrays, BigInt, NaN, sparse arrays', async () => {
    for (const params of [{ m: new Map() }, { s: new Set([1]) }, { d: new Date(0) }, { b: new Uint8Array(2) }, { n: 10n }, { n: Number.NaN }, { n: Infinity }, { a: sparseArray() }, { r: /x/ }, { e: new Error('x') }]) {
      const { send, gateway } = setup();
      await assertInvalid(send({ operation: 'a.b', params }), gateway);
    }
  });

  it('drops undefined properties as JSON does, and passes a fresh copy to the gateway', async () => {
    const { send, gateway } = setup();
    await send({ operation: 'a.b', params: { city: 'Oslo', days: undefined, list: [1, null, 'x'] } });
    assert.deepEqual(gateway.calls[0]!.params, { city: 'Oslo', list: [1, null, 'x'] });
    assert.equal(Object.getPrototypeOf(gateway.calls[0]!.params), Object.prototype);
  });
});

describe('electron bridge payloads: prototype tricks', () => {
  it('refuses an own __proto__ key (as JSON.parse makes it)', async () => {
    const { send, gateway } = setup();
    await assertInvalid(send({ operation: 'a.b', params: JSON.parse('{"city":"x","__proto__":{"polluted":true}}') }), gateway);
    await assertInvalid(send({ operation: 'a.b', params: { deep: JSON.parse('{"__proto__":{"caller":"main"}}') } }), gateway);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('a getter runs in the renderer during the clone, never in main', async () => {
    const { send, gateway } = setup();
    let reads = 0;
    const params = {
      get city() {
        reads++;
        return 'Oslo';
      },
    };
    await send({ operation: 'a.b', params });
    assert.equal(reads, 1);
    assert.deepEqual(gateway.calls[0]!.params, { city: 'Oslo' });
    await assert.rejects(
      send({ operation: 'a.b', params: { get boom() { throw new Error('getter'); } } }),
      /getter/,
    );
  });

  it('the checker itself never runs accessors or trusts prototypes', () => {
    let ran = false;
    const accessor = Object.defineProperty({}, 'city', { enumerable: true, get: () => ((ran = true), 'x') });
    const trapped = { operation: 'a.b', params: accessor };
    assert.equal(checkCallMessage(trapped).ok, false);
    assert.equal(checkCallMessage(Object.defineProperty({}, 'operation', { enumerable: true, get: () => ((ran = true), 'a.b') })).ok, false);
    assert.equal(checkCallMessage({ operation: 'a.b', options: Object.defineProperty({}, 'correlationId', { get: () => ((ran = true), 'x') }) }).ok, false);
    assert.equal(ran, false);
    class Params {
      city = 'x';
    }
    assert.equal(checkCallMessage({ operation: 'a.b', params: new Params() }).ok, false);
    assert.equal(checkCallMessage(Object.assign(Object.create({ operation: 'a.b' }) as object, {})).ok, false);
    assert.equal(checkCallMessage({ operation: 'a.b', params: { [Symbol('s')]: 1 } }).ok, false);
    const proxy = new Proxy({ operation: 'a.b' }, {});
    assert.equal(checkCallMessage(proxy).ok, true, 'a proxy is read through descriptors only');
  });

  it('a Proxy whose traps throw is a malformed_payload refusal, and what it threw is never repeated', async () => {
    const thrower = (): never => {
      throw new Error('trap-secret-1234');
    };
    const messages = [
      new Proxy({}, { ownKeys: thrower }),
      new Proxy({ operation: 'a.b' }, { getOwnPropertyDescriptor: thrower }),
      new Proxy({}, { getPrototypeOf: thrower }),
      { operation: 'a.b', params: new Proxy({ a: 1 }, { getOwnPropertyDescriptor: thrower }) },
      { operation: 'a.b', params: { list: [new Proxy({}, { ownKeys: thrower })] } },
      { operation: 'a.b', options: new Proxy({}, { ownKeys: thrower }) },
    ];
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    messages.push({ operation: 'a.b', params: revoked.proxy });
    for (const message of messages) {
      const check = checkCallMessage(message);
      assert.equal(check.ok, false);
      assert.ok(!check.ok && check.reason === 'malformed_payload');
      assert.ok(!JSON.stringify(check).includes('trap-secret'));
    }
    // Through the bridge (a handler given the object as is, as a direct invoke would): an envelope.
    let handler: ((event: unknown, message: unknown) => Promise<Envelope>) | undefined;
    const gateway = fakeGateway();
    const ipcMain = { handle: (_channel: string, h: typeof handler) => void (handler = h), removeHandler: () => undefined };
    const bridge = exposeGateway(gateway, { ipcMain: ipcMain as never, onDenied: () => undefined });
    const win = new StandInWebContents('app://main/index.html');
    bridge.allow(win, { role: 'renderer', origins: ['app://main'] });
    const result = await assertInvalid(handler!({ sender: win, senderFrame: win.mainFrame }, messages[0]), gateway);
    assert.ok(!JSON.stringify(result).includes('trap-secret'));
  });

  it('symbol keys do not survive the clone; null-prototype objects are accepted as plain data', async () => {
    const { send, gateway } = setup();
    const params = Object.assign(Object.create(null) as object, { city: 'Oslo' });
    await send({ operation: 'a.b', params: { ...params, [Symbol('x')]: 1 } });
    assert.deepEqual(gateway.calls[0]!.params, { city: 'Oslo' });
    assert.deepEqual(checkCallMessage({ operation: 'a.b', params }).ok, true);
  });
});
