/**
 * The IPC bridge, driven through the Electron stand-in: who is served, who is refused (and how
 * little they learn), where the caller role comes from, and what crosses back.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, describe, it } from 'node:test';
import { CALL_CHANNEL, REFUSED_MESSAGE, STATUS_CHANNEL, exposeGateway, type DenialEvent } from '../src/hosts/electron/index.ts';
import { StandInIpcMain, StandInWebContents, type StandInFrame } from './support/electron-standin.ts';
import { fakeGateway } from './support/fake-gateway.ts';

const APP = 'app://main';

function setup() {
  const ipcMain = new StandInIpcMain();
  const gateway = fakeGateway();
  const denials: DenialEvent[] = [];
  const bridge = exposeGateway(gateway, { ipcMain, onDenied: (event) => denials.push(event) });
  const win = new StandInWebContents(`${APP}/index.html`);
  bridge.allow(win, { role: 'renderer', origins: [APP] });
  const call = (contents = win, frame: StandInFrame = contents.mainFrame, message: unknown = { operation: 'weather.getForecast', params: { city: 'Oslo' } }) =>
    ipcMain.invoke(contents, frame, CALL_CHANNEL, message);
  return { ipcMain, gateway, denials, bridge, win, call };
}

async function assertRefused(promise: Promise<unknown>): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.message, `Error invoking remote method '${CALL_CHANNEL}': Error: ${REFUSED_MESSAGE}`);
    return true;
  });
}

describe('electron bridge: allowed senders', () => {
  it('serves the allowed main frame and returns a plain envelope', async () => {
    const { call, gateway } = setup();
    const result = await call();
    assert.deepEqual(result, { ok: true, status: 200, data: { echo: 'weather.getForecast' }, correlationId: 'c-1' });
    assert.equal(gateway.calls.length, 1);
    assert.deepEqual(gateway.calls[0]!.params, { city: 'Oslo' });
  });

  it('takes the caller role from allow(), and passes correlation id and idempotency key', async () => {
    const { call, gateway, win } = setup();
    await call(win, win.mainFrame, { operation: 'weather.saveFavourite', params: {}, options: { correlationId: 'abc-1', idempotencyKey: 'k-1' } });
    const options = gateway.calls[0]!.options;
    assert.equal(options.caller, 'renderer');
    assert.equal(options.correlationId, 'abc-1');
    assert.equal(options.idempotencyKey, 'k-1');
    assert.ok(options.signal instanceof AbortSignal);
  });

  it('computes the origin of a custom-scheme frame whose serialized origin is null', async () => {
    const { bridge, ipcMain, gateway } = setup();
    const win = new StandInWebContents(`${APP}/index.html`, { origin: 'null' });
    bridge.allow(win, { role: 'renderer', origins: [APP] });
    const result = (await ipcMain.invoke(win, win.mainFrame, CALL_CHANNEL, { operation: 'weather.getForecast' })) as { ok: boolean };
    assert.equal(result.ok, true);
    assert.equal(gateway.calls.length, 1);
  });

  it('copies error envelopes field by field (and queued ids), dropping anything else', async () => {
    const { call, gateway } = setup();
    gateway.next = {
      ok: false,
      error: { kind: 'offline', reason: 'no_network', message: 'm', retryable: true, operation: 'o', correlationId: 'c', secretField: 'x' },
      queued: { id: 'q-1', extra: 1 },
      more: 'x',
    };
    assert.deepEqual(await call(), {
      ok: false,
      error: { kind: 'offline', reason: 'no_network', message: 'm', retryable: true, operation: 'o', correlationId: 'c' },
      queued: { id: 'q-1' },
    });
  });

  it('answers internal_error if the gateway ever throws', async () => {
    const { call, gateway } = setup();
    gateway.throwNext = true;
    const result = (await call()) as { ok: false; error: { kind: string; message: string } };
    assert.equal(result.ok, false);
    assert.equal(result.error.kind, 'internal_error');
    assert.doesNotMatch(result.error.message, /boom/);
  });
});

describe('electron bridge: refused senders learn nothing', () => {
  it('refuses a webContents that was never allowed', async () => {
    const { call, denials, gateway } = setup();
    await assertRefused(call(new StandInWebContents(`${APP}/index.html`)));
    assert.equal(gateway.calls.length, 0);
    assert.equal(denials[0]?.reason, 'unknown_sender');
  });

  it('refuses a forged sender that reuses an allowed id', async () => {
    const { ipcMain, win, gateway, denials } = setup();
    const handler = ipcMain.handlerFor(CALL_CHANNEL)!;
    const forged = { id: win.id, isDestroyed: () => false, mainFrame: win.mainFrame };
    await assert.rejects(Promise.resolve().then(() => handler({ sender: forged, senderFrame: win.mainFrame }, { operation: 'x.y' })), { message: REFUSED_MESSAGE });
    assert.equal(gateway.calls.length, 0);
    assert.equal(denials[0]?.reason, 'unknown_sender');
  });

  it('refuses events without a sender or frame', async () => {
    const { ipcMain, win } = setup();
    const handler = ipcMain.handlerFor(CALL_CHANNEL)!;
    for (const event of [undefined, null, {}, { sender: win }, { sender: win, senderFrame: null }, { get sender() { throw new Error('x'); } }]) {
      await assert.rejects(Promise.resolve().then(() => handler(event, { operation: 'x.y' })), { message: REFUSED_MESSAGE });
    }
  });

  it('refuses a subframe, even one of an allowed origin', async () => {
    const { call, win, denials, gateway } = setup();
    await assertRefused(call(win, win.addSubframe(`${APP}/frame.html`)));
    await assertRefused(call(win, win.addSubframe('https://evil.example/')));
    assert.equal(gateway.calls.length, 0);
    assert.deepEqual(denials.map((d) => d.reason), ['not_main_frame', 'not_main_frame']);
  });

  it('refuses a main frame whose origin is not allowed, by exact string', async () => {
    for (const [url, origin] of [
      ['https://evil.example/', undefined],
      ['app://main.evil/', undefined],
      ['app://MAIN/', 'app://MAIN'],
      ['file:///index.html', 'null'],
      ['data:text/html,hi', 'null'],
      ['app://main:8080/', undefined],
    ] as const) {
      const { ipcMain, bridge, gateway, denials } = setup();
      const win = new StandInWebContents(url, { origin });
      bridge.allow(win, { role: 'renderer', origins: [APP] });
      await assertRefused(ipcMain.invoke(win, win.mainFrame, CALL_CHANNEL, { operation: 'weather.getForecast' }));
      assert.equal(gateway.calls.length, 0, url);
      assert.equal(denials[0]?.reason, 'origin_not_allowed', url);
    }
  });

  it('refuses an allowed window after it navigated away, and the old frame once detached', async () => {
    const { call, win, denials } = setup();
    const oldFrame = win.mainFrame;
    win.navigate('https://evil.example/'); // not hardened here: the bridge alone must hold
    await assertRefused(call(win));
    await assertRefused(call(win, oldFrame));
    assert.deepEqual(denials.map((d) => d.reason), ['origin_not_allowed', 'not_main_frame']);
  });

  it('refuses a detached frame that is still reachable', async () => {
    const { call, win } = setup();
    const frame = win.mainFrame;
    frame.detached = true;
    await assertRefused(call(win, frame));
  });

  it('refuses destroyed windows and forgets them', async () => {
    const { call, win, ipcMain, denials } = setup();
    const handler = ipcMain.handlerFor(CALL_CHANNEL)!;
    const frame = win.mainFrame;
    win.destroy();
    await assert.rejects(Promise.resolve().then(() => handler({ sender: win, senderFrame: frame }, { operation: 'x.y' })), { message: REFUSED_MESSAGE });
    await assertRefused(call(win, frame));
    assert.ok(denials.every((d) => d.reason === 'unknown_sender'));
  });

  it('refuses a destroyed window that is still registered', async () => {
    const { ipcMain, win, denials } = setup();
    const handler = ipcMain.handlerFor(CALL_CHANNEL)!;
    const frame = win.mainFrame;
    win.isDestroyed = () => true; // destroyed without the event having been delivered yet
    await assert.rejects(Promise.resolve().then(() => handler({ sender: win, senderFrame: frame }, { operation: 'x.y' })), { message: REFUSED_MESSAGE });
    assert.equal(denials[0]?.reason, 'destroyed_sender');
  });

  it('cancels in-flight calls of a window that closes', async () => {
    const { call, win, gateway } = setup();
    gateway.hold = true;
    const pending = call();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(gateway.calls[0]!.options.signal!.aborted, false);
    win.destroy();
    assert.equal(gateway.calls[0]!.options.signal!.aborted, true);
    gateway.release();
    await pending;
  });

  it('stops serving a revoked window, and everything after close()', async () => {
    const { call, win, bridge, ipcMain } = setup();
    bridge.revoke(win);
    await assertRefused(call(win));
    bridge.close();
    assert.equal(ipcMain.handlerFor(CALL_CHANNEL), undefined);
    assert.doesNotThrow(() => exposeGateway(fakeGateway(), { ipcMain }));
  });

  it('publishes refusals on gatehouse:bridge:denied', async () => {
    const seen: unknown[] = [];
    const listener = (message: unknown) => seen.push(message);
    subscribe('gatehouse:bridge:denied', listener);
    try {
      const { call } = setup();
      await assertRefused(call(new StandInWebContents('https://evil.example/')));
    } finally {
      unsubscribe('gatehouse:bridge:denied', listener);
    }
    assert.equal((seen[0] as DenialEvent).reason, 'unknown_sender');
    assert.equal((seen[0] as DenialEvent).source, 'bridge');
  });
});

describe('electron bridge: allow() and setup are strict', () => {
  it('refuses the trusted role, bad roles and inexact origins', () => {
    const { bridge } = setup();
    const win = new StandInWebContents(`${APP}/`);
    assert.throws(() => bridge.allow(win, { role: 'main', origins: [APP] }), TypeError);
    assert.throws(() => bridge.allow(win, { role: '', origins: [APP] }), TypeError);
    assert.throws(() => bridge.allow(win, { role: 'a b', origins: [APP] }), TypeError);
    for (const origins of [[], ['app://main/'], ['https://a.example/x'], ['null'], ['file://'], ['*'], 'app://main'] as unknown[]) {
      assert.throws(() => bridge.allow(win, { role: 'renderer', origins: origins as string[] }), TypeError, String(origins));
    }
    win.destroy();
    assert.throws(() => bridge.allow(win, { role: 'renderer', origins: [APP] }), TypeError);
  });

  it('registers exactly one IPC handler', () => {
    const ipcMain = new StandInIpcMain();
    exposeGateway(fakeGateway(), { ipcMain });
    assert.throws(() => exposeGateway(fakeGateway(), { ipcMain }), /second handler/);
  });
});

describe('electron bridge: status events', () => {
  let off: (() => void) | undefined;
  afterEach(() => off?.());

  it('forwards gateway status to allowed windows only, as plain data', () => {
    const { gateway, win, bridge } = setup();
    const other = new StandInWebContents('https://evil.example/');
    const navigated = new StandInWebContents(`${APP}/`);
    bridge.allow(navigated, { role: 'renderer', origins: [APP] });
    navigated.navigate('https://evil.example/');
    const closed = new StandInWebContents(`${APP}/`);
    bridge.allow(closed, { role: 'renderer', origins: [APP] });
    closed.destroy();
    gateway.emitStatus({ type: 'offline' });
    gateway.emitStatus({ type: 'queue', id: 'q1', state: 'pending', nested: { no: 1 } });
    gateway.emitStatus('junk');
    assert.deepEqual(win.sent, [
      { channel: STATUS_CHANNEL, args: [{ type: 'offline' }] },
      { channel: STATUS_CHANNEL, args: [{ type: 'queue', id: 'q1', state: 'pending' }] },
    ]);
    assert.deepEqual(other.sent, []);
    assert.deepEqual(navigated.sent, []);
  });

  it('stops forwarding after close()', () => {
    const { gateway, win, bridge } = setup();
    bridge.close();
    gateway.emitStatus({ type: 'online' });
    assert.deepEqual(win.sent, []);
    assert.equal(gateway.statusListeners.size, 0);
  });
});
