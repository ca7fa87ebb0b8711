/**
 * The real preload script, run as a sandboxed preload against the stand-in: it exposes exactly a
 * frozen `{ call, onStatus }`, never ipcRenderer; calls reach the real bridge; status callbacks
 * never see the IPC event; unsubscribing works.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CALL_CHANNEL, STATUS_CHANNEL, exposeGateway } from '../src/hosts/electron/index.ts';
import { StandInIpcMain, StandInWebContents } from './support/electron-standin.ts';
import { fakeGateway } from './support/fake-gateway.ts';
import { preloadJavaScript, runPreload } from './support/preload-harness.ts';

type Api = { call: (...args: unknown[]) => Promise<unknown>; onStatus: (cb: (...args: unknown[]) => void) => () => void };

function setup() {
  const ipcMain = new StandInIpcMain();
  const gateway = fakeGateway();
  const bridge = exposeGateway(gateway, { ipcMain });
  const win = new StandInWebContents('app://main/index.html');
  bridge.allow(win, { role: 'renderer', origins: ['app://main'] });
  const run = runPreload(ipcMain, win);
  return { gateway, win, run, api: run.exposed as unknown as Api };
}

describe('preload', () => {
  it('exposes exactly window.gatehouse = { call, onStatus }, frozen, and requires only electron', () => {
    const { run } = setup();
    assert.deepEqual(run.exposedKeys, ['gatehouse']);
    assert.deepEqual(Object.keys(run.raw as object).sort(), ['call', 'onStatus']);
    assert.equal(Object.isFrozen(run.raw), true);
    assert.deepEqual(run.required, ['electron']);
  });

  it('never exposes ipcRenderer or anything of it', () => {
    const { run } = setup();
    for (const value of Object.values(run.raw as object)) assert.equal(typeof value, 'function');
    assert.doesNotMatch(preloadJavaScript(), /exposeInMainWorld\([^)]*ipcRenderer/);
  });

  it('uses the bridge channels', () => {
    const source = preloadJavaScript();
    assert.ok(source.includes(`'${CALL_CHANNEL}'`));
    assert.ok(source.includes(`'${STATUS_CHANNEL}'`));
  });

  it('calls reach the gateway through the real bridge with the registered role', async () => {
    const { api, gateway } = setup();
    const result = await api.call('weather.getForecast', { city: 'Oslo' }, { correlationId: 'c-9', caller: 'main', signal: 'x' });
    assert.deepEqual(result, { ok: true, status: 200, data: { echo: 'weather.getForecast' }, correlationId: 'c-1' });
    assert.equal(gateway.calls[0]!.options.caller, 'renderer');
    assert.equal(gateway.calls[0]!.options.correlationId, 'c-9');
  });

  it('a page that navigated to another origin is refused', async () => {
    const ipcMain = new StandInIpcMain();
    const bridge = exposeGateway(fakeGateway(), { ipcMain });
    const win = new StandInWebContents('app://main/index.html');
    bridge.allow(win, { role: 'renderer', origins: ['app://main'] });
    win.navigate('https://evil.example/');
    const api = runPreload(ipcMain, win).exposed as unknown as Api;
    await assert.rejects(api.call('weather.getForecast', {}), /request refused/);
  });

  it('status callbacks get the status only, never the IPC event', () => {
    const { api, gateway } = setup();
    const seen: unknown[][] = [];
    api.onStatus((...args) => seen.push(args));
    gateway.emitStatus({ type: 'offline' });
    assert.deepEqual(seen, [[{ type: 'offline' }]]);
  });

  it('unsubscribe works, per subscription, and removes the IPC listener when none is left', () => {
    const { api, gateway, run } = setup();
    const seen: string[] = [];
    const listener = () => seen.push('x');
    const off1 = api.onStatus(listener);
    const off2 = api.onStatus(listener);
    assert.equal(run.listenerCount(STATUS_CHANNEL), 1);
    gateway.emitStatus({ type: 'online' });
    assert.equal(seen.length, 2);
    off1();
    off1();
    gateway.emitStatus({ type: 'online' });
    assert.equal(seen.length, 3);
    off2();
    assert.equal(run.listenerCount(STATUS_CHANNEL), 0);
    gateway.emitStatus({ type: 'online' });
    assert.equal(seen.length, 3);
  });

  it('a throwing status listener does not stop the others', () => {
    const { api, gateway } = setup();
    const seen: unknown[] = [];
    api.onStatus(() => {
      throw new Error('page bug');
    });
    api.onStatus((status) => seen.push(status));
    gateway.emitStatus({ type: 'offline' });
    assert.equal(seen.length, 1);
  });

  it('onStatus requires a function', () => {
    const { run } = setup();
    assert.throws(() => (run.raw as { onStatus: (x: unknown) => void }).onStatus('x'), { name: 'TypeError', message: /a function is required/ });
  });
});
