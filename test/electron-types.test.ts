/**
 * The structural types the host code takes accept the real Electron objects: checked by `tsc`
 * against the `electron` package's own definitions (installed with ELECTRON_SKIP_BINARY_DOWNLOAD=1).
 * At run time, the public entry points exist and nothing loads `electron`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { App, BrowserWindow, IpcMain, IpcMainInvokeEvent, Session, WebContents, WebFrameMain } from 'electron';
import * as electronHost from '../src/hosts/electron/index.ts';
import type { AppLike, FrameLike, InvokeEventLike, IpcMainLike, SessionLike, WebContentsLike, WindowLike } from '../src/hosts/electron/index.ts';

/** Compile-time only: each assignment fails `tsc` if Electron's types stop fitting. */
export function electronObjectsFit(ipcMain: IpcMain, contents: WebContents, win: BrowserWindow, app: App, frame: WebFrameMain, session: Session, event: IpcMainInvokeEvent) {
  const fits: [IpcMainLike, WebContentsLike, WindowLike, AppLike, FrameLike, SessionLike, InvokeEventLike] = [ipcMain, contents, win, app, frame, session, event];
  electronHost.exposeGateway({ call: async () => ({ ok: true, status: 200, data: null, correlationId: 'c' }) }, { ipcMain }).allow(contents, { role: 'renderer', origins: ['app://main'] });
  electronHost.hardenWindow(win, { origins: ['app://main'] });
  electronHost.hardenApp(app, { origins: ['app://main'] });
  return fits;
}

describe('gatehouse/electron entry', () => {
  it('exports the bridge and the hardening helpers', () => {
    for (const name of ['exposeGateway', 'hardenWindow', 'hardenSession', 'hardenApp', 'unsafeWebPreferences', 'originOf']) {
      assert.equal(typeof (electronHost as Record<string, unknown>)[name], 'function', name);
    }
  });

  it('every denial reason is documented in docs/electron.md', () => {
    const doc = readFileSync(new URL('../docs/electron.md', import.meta.url), 'utf8');
    for (const reason of electronHost.DENIAL_REASONS) assert.ok(doc.includes(`\`${reason}\``), reason);
  });

  it('runs under plain Node: electron itself was never loaded', () => {
    const require = createRequire(import.meta.url);
    const loaded = Object.keys(require.cache).some((path) => /node_modules[\\/]electron[\\/]index\.js$/.test(path));
    assert.equal(loaded, false);
  });
});
