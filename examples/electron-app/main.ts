/**
 * Main process of the Gatehouse Electron example. The renderer is served from the custom
 * `app://main` origin (never `file://`), runs sandboxed and isolated with the Gatehouse preload,
 * and reaches the internet only through the bridge: its own network is cancelled, its CSP allows
 * no connections, and every operation it may run is listed in `gatehouse.policy.yaml`.
 *
 * In an app, import from 'gatehouse' and 'gatehouse/electron'; this example imports the sources.
 * Not run in CI: the Electron binary cannot be installed there (see docs/electron.md).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BrowserWindow, app, ipcMain, net, protocol, session } from 'electron';
import { createGateway, type Gateway } from '../../src/index.ts';
import { APP_CONTENT_SECURITY_POLICY, exposeGateway, hardenApp, hardenWindow, type DenialEvent } from '../../src/hosts/electron/index.ts';

const APP_ORIGIN = 'app://main';
const PARTITION = 'persist:example-app';
const RENDERER_DIR = fileURLToPath(new URL('./renderer/', import.meta.url));
const POLICY = fileURLToPath(new URL('./gatehouse.policy.yaml', import.meta.url));
/** The package's own preload: `gatehouse/preload` resolves to the built `.cjs` file. */
const PRELOAD = fileURLToPath(import.meta.resolve('gatehouse/preload'));
/** The only files `app://main` serves: a fixed list, so no path can escape the folder. */
const FILES: Readonly<Record<string, readonly [string, string]>> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/renderer.js': ['renderer.js', 'text/javascript; charset=utf-8'],
  '/styles.css': ['styles.css', 'text/css; charset=utf-8'],
};

// A standard, secure scheme: real origins, so CSP 'self' and the bridge's origin check work.
protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true } }]);

function logDenial(event: DenialEvent): void {
  console.warn(`gatehouse denied ${event.reason} (${event.source}) ${event.origin ?? ''}`);
}

async function serveApp(request: Request): Promise<Response> {
  const url = new URL(request.url);
  const entry = url.host === 'main' ? FILES[url.pathname] : undefined;
  if (entry === undefined) return new Response('Not found', { status: 404 });
  const [file, type] = entry;
  return new Response(await readFile(join(RENDERER_DIR, file)), {
    headers: { 'content-type': type, 'content-security-policy': APP_CONTENT_SECURITY_POLICY, 'x-content-type-options': 'nosniff' },
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 900,
    height: 680,
    show: false,
    webPreferences: {
      // Reviewed: the Gatehouse preload exposes only a frozen { call, onStatus } (test/electron-preload.test.ts).
      preload: PRELOAD, // eng-disable PRELOAD_JS_CHECK: reviewed, see above
      partition: PARTITION,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      webviewTag: false,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      disableBlinkFeatures: 'Auxclick',
    },
  });
  hardenWindow(win, { origins: [APP_ORIGIN], onDenied: logDenial });
  win.once('ready-to-show', () => win.show());
  return win;
}

/** Keeps the gateway's view of connectivity in step with the OS (Electron's `net.isOnline()`). */
function trackConnectivity(gateway: Gateway & { setOnline?(online: boolean): void }): () => void {
  let last: boolean | undefined;
  const check = (): void => {
    const online = net.isOnline();
    if (online !== last) gateway.setOnline?.(online);
    last = online;
  };
  check();
  const timer = setInterval(check, 5000);
  return () => clearInterval(timer);
}

async function main(): Promise<void> {
  await app.whenReady();
  hardenApp(app, { origins: [APP_ORIGIN], onDenied: logDenial });
  session.fromPartition(PARTITION).protocol.handle('app', serveApp);

  // Secrets: the default store (OS keychain, else an encrypted file in dataDir). Put the API key
  // there once, e.g. with `gatehouse secrets set weather-key`, never in the renderer.
  const gateway = await createGateway({ policy: POLICY, dataDir: join(app.getPath('userData'), 'gatehouse') });
  const bridge = exposeGateway(gateway, { ipcMain, onDenied: logDenial });
  const stopTracking = trackConnectivity(gateway);

  const win = createWindow();
  bridge.allow(win.webContents, { role: 'renderer', origins: [APP_ORIGIN] });
  await win.loadURL(`${APP_ORIGIN}/index.html`);

  app.on('window-all-closed', () => {
    stopTracking();
    bridge.close();
    void gateway.close().finally(() => app.quit());
  });
}

void main();
