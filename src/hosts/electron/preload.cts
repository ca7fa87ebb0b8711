/**
 * `gatehouse/preload`: the sandboxed preload script. It exposes exactly
 * `window.gatehouse = { call, onStatus }` (frozen) through `contextBridge`, and never
 * `ipcRenderer` itself. Dependency-free CommonJS, because a sandboxed preload can only `require`
 * `electron` and a few built-ins.
 *
 * Use it as the window's preload (`webPreferences.preload: require.resolve('gatehouse/preload')`)
 * or `import 'gatehouse/preload'` from a bundled preload.
 * @see DESIGN.md §2 "Hosts", §5 "Electron bridge"
 */

/** The slice of the preload's `electron` module used here. */
interface PreloadElectron {
  contextBridge: { exposeInMainWorld(key: string, api: unknown): void };
  ipcRenderer: {
    invoke(channel: string, ...args: unknown[]): Promise<unknown>;
    on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
    removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  };
}

// Channel names: kept equal to CALL_CHANNEL / STATUS_CHANNEL in bridge.ts (a test checks).
const GATEHOUSE_CALL_CHANNEL = 'gatehouse:call';
const GATEHOUSE_STATUS_CHANNEL = 'gatehouse:status';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- a sandboxed preload is CommonJS
const { contextBridge, ipcRenderer } = require('electron') as PreloadElectron;

const statusListeners = new Set<(status: unknown) => void>();

/** Hands each status event to the page's listeners, without the IPC event. */
function relayStatus(_event: unknown, status: unknown): void {
  for (const listener of [...statusListeners]) {
    try {
      listener(status);
    } catch {
      // One page listener failing must not stop the others.
    }
  }
}

/** Only the options the bridge accepts; `caller` and `signal` are never sent. */
function pickOptions(options: unknown): { correlationId?: string; idempotencyKey?: string } {
  const picked: { correlationId?: string; idempotencyKey?: string } = {};
  if (typeof options !== 'object' || options === null) return picked;
  const { correlationId, idempotencyKey } = options as Record<string, unknown>;
  if (typeof correlationId === 'string') picked.correlationId = correlationId;
  if (typeof idempotencyKey === 'string') picked.idempotencyKey = idempotencyKey;
  return picked;
}

const gatehouse = Object.freeze({
  /** Runs a named operation; resolves to `{ ok: true, ... }` or `{ ok: false, error }`. */
  call(operation: string, params?: unknown, options?: { correlationId?: string; idempotencyKey?: string }): Promise<unknown> {
    return ipcRenderer.invoke(GATEHOUSE_CALL_CHANNEL, { operation: String(operation), params, options: pickOptions(options) });
  },
  /** Listens to connectivity and offline-queue events; returns the function that stops listening. */
  onStatus(listener: (status: unknown) => void): () => void {
    if (typeof listener !== 'function') throw new TypeError('gatehouse.onStatus: a function is required');
    // A wrapper per subscription, so subscribing the same function twice needs two unsubscribes.
    const entry = (status: unknown): void => listener(status);
    if (statusListeners.size === 0) ipcRenderer.on(GATEHOUSE_STATUS_CHANNEL, relayStatus);
    statusListeners.add(entry);
    return () => {
      if (!statusListeners.delete(entry)) return;
      if (statusListeners.size === 0) ipcRenderer.removeListener(GATEHOUSE_STATUS_CHANNEL, relayStatus);
    };
  },
});

// contextBridge throws when contextIsolation is off: the page and the preload would share a world.
contextBridge.exposeInMainWorld('gatehouse', gatehouse);
