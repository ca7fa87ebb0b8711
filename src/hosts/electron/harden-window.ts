/**
 * `hardenWindow`: the Electron security checklist applied to one window — safe web preferences
 * required, every `window.open` denied, navigation and redirects kept within the allowed
 * origins, no `<webview>`, and the window's session hardened (permissions, renderer network, CSP).
 * @see DESIGN.md §2 "Hosts", §5 "Electron bridge"
 */
import { reportDenial, type DenialSink } from './denials.ts';
import { guardContents } from './guard-contents.ts';
import { hardenSession } from './harden-session.ts';
import { normalizeOrigins } from './origin.ts';
import type { WindowLike } from './surface.ts';
import { unsafeWebPreferences } from './web-preferences.ts';

/** Options of {@link hardenWindow}. */
export interface HardenWindowOptions {
  /** Exact origins the window may show, e.g. `['app://main']`. */
  readonly origins: readonly string[];
  /**
   * Receives every denial (also published on `gatehouse:electron:denied`).
   * @default undefined — diagnostics channel only
   */
  readonly onDenied?: DenialSink;
}

/**
 * Hardens a window. Call it right after creating the window, before loading its page.
 * @throws {TypeError} when the window was created with unsafe web preferences (contextIsolation
 *   or sandbox off, nodeIntegration or webviewTag on, webSecurity off, ...) — a setup bug
 * @example
 * const win = new BrowserWindow({ webPreferences: { preload, sandbox: true, contextIsolation: true } });
 * hardenWindow(win, { origins: ['app://main'] });
 */
export function hardenWindow(win: WindowLike, options: HardenWindowOptions): void {
  const contents = win?.webContents;
  if (typeof contents?.setWindowOpenHandler !== 'function') throw new TypeError('hardenWindow: a BrowserWindow is required');
  const origins = normalizeOrigins(options?.origins, 'hardenWindow');
  const problems = unsafeWebPreferences(contents.getLastWebPreferences?.());
  if (problems.length > 0) {
    reportDenial({ source: 'window', reason: 'unsafe_web_preferences', webContentsId: contents.id, detail: problems.join(',') }, options.onDenied);
    throw new TypeError(`hardenWindow: unsafe webPreferences: ${problems.join(', ')}`);
  }
  guardContents(contents, { origins, source: 'window', sink: options.onDenied });
  hardenSession(contents.session, { origins: [...origins], onDenied: options.onDenied });
}
