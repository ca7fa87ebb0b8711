/**
 * Runs the real preload script (`src/hosts/electron/preload.cts`, compiled as `tsc` emits it) in its
 * own V8 context, as Electron runs a sandboxed preload: a `require` that knows only `electron`,
 * an `ipcRenderer` wired to a stand-in webContents and frame, and a `contextBridge` that hands
 * the page a copy whose functions clone their arguments across the world boundary.
 */
import { readFileSync } from 'node:fs';
import { createContext, Script } from 'node:vm';
import ts from 'typescript';
import type { StandInFrame, StandInIpcMain, StandInWebContents } from './electron-standin.ts';

/** Path of the preload source. */
export const PRELOAD_PATH = new URL('../../src/hosts/electron/preload.cts', import.meta.url);

/** The preload's JavaScript (CommonJS), as a sandboxed preload would load it. */
export function preloadJavaScript(): string {
  const options = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 };
  return ts.transpileModule(readFileSync(PRELOAD_PATH, 'utf8'), { compilerOptions: options, fileName: 'preload.cts' }).outputText;
}

type RendererListener = (event: unknown, ...args: unknown[]) => void;

/** What a test sees after the preload ran. */
export interface PreloadRun {
  /** What the page sees as `window.gatehouse`. */
  readonly exposed: Record<string, unknown>;
  /** The object the preload passed to `exposeInMainWorld` (before the bridge copy). */
  readonly raw: unknown;
  /** Keys passed to `exposeInMainWorld`. */
  readonly exposedKeys: string[];
  /** Modules the preload required. */
  readonly required: string[];
  /** Listeners the preload holds on each channel. */
  listenerCount(channel: string): number;
}

/** Runs the preload for a page in `frame` of `contents`. */
export function runPreload(ipcMain: StandInIpcMain, contents: StandInWebContents, frame: StandInFrame = contents.mainFrame): PreloadRun {
  const listeners = new Map<string, Set<RendererListener>>();
  const ipcRenderer = {
    invoke: (channel: string, ...args: unknown[]) => ipcMain.invoke(contents, frame, channel, ...args),
    on(channel: string, listener: RendererListener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set());
      listeners.get(channel)!.add(listener);
      return ipcRenderer;
    },
    removeListener(channel: string, listener: RendererListener) {
      listeners.get(channel)?.delete(listener);
      return ipcRenderer;
    },
  };
  contents.deliver = (channel, args) => {
    for (const listener of [...(listeners.get(channel) ?? [])]) listener({ sender: ipcRenderer, ports: [] }, ...args);
  };
  const exposedKeys: string[] = [];
  const required: string[] = [];
  let raw: unknown;
  let exposed: Record<string, unknown> = {};
  const contextBridge = {
    exposeInMainWorld(key: string, api: Record<string, unknown>) {
      exposedKeys.push(key);
      raw = api;
      exposed = Object.freeze(Object.fromEntries(Object.entries(api).map(([name, value]) => [name, acrossWorlds(value)])));
    },
  };
  const fakeRequire = (name: string): unknown => {
    required.push(name);
    if (name === 'electron') return { contextBridge, ipcRenderer };
    throw new Error(`module not found: ${name}`);
  };
  const context = createContext({ process: { contextIsolated: true } });
  const wrapper = new Script(`(function (require, module, exports) {${preloadJavaScript()}\n})`, { filename: 'preload.cjs' });
  const module = { exports: {} };
  (wrapper.runInContext(context) as (r: unknown, m: unknown, e: unknown) => void)(fakeRequire, module, module.exports);
  return {
    get exposed() {
      return exposed;
    },
    get raw() {
      return raw;
    },
    exposedKeys,
    required,
    listenerCount: (channel) => listeners.get(channel)?.size ?? 0,
  };
}

/** contextBridge: functions are proxied; other values are copied. */
function acrossWorlds(value: unknown): unknown {
  if (typeof value !== 'function') return structuredClone(value);
  return (...args: unknown[]) => {
    const copied = args.map((arg) => (typeof arg === 'function' ? acrossWorlds(arg) : structuredClone(arg)));
    const result: unknown = value(...copied);
    if (typeof result === 'function') return acrossWorlds(result);
    if (result instanceof Promise) return result.then((resolved) => structuredClone(resolved));
    return structuredClone(result);
  };
}
