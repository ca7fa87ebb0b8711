/**
 * `hardenApp`: once per app, guards every webContents as it is created — including ones the app
 * did not create itself — so a window opened anywhere gets the same rules: unsafe web
 * preferences are refused (the contents are closed and may load nothing), and popups,
 * `<webview>` and navigation outside the allowed origins are denied. Each contents' session is
 * hardened too.
 * @see DESIGN.md §4.8, FIELD-NOTES "Electron"
 */
import { reportDenial, type DenialSink } from './denials.ts';
import { guardContents, refuseContents } from './guard-contents.ts';
import { hardenSession } from './harden-session.ts';
import { normalizeOrigins } from './origin.ts';
import type { AppLike } from './surface.ts';
import { unsafeWebPreferences } from './web-preferences.ts';

/** Options of {@link hardenApp}. */
export interface HardenAppOptions {
  /** The app's own origins, e.g. `['app://main']`. A window's `hardenWindow` origins replace them for that window. */
  readonly origins: readonly string[];
  /**
   * Receives every denial (also published on `gatehouse:electron:denied`).
   * @default undefined — diagnostics channel only
   */
  readonly onDenied?: DenialSink;
}

/**
 * Installs the app-wide guards. Call it once, before the app creates any window.
 * @example app.whenReady().then(() => { hardenApp(app, { origins: ['app://main'] }); createWindow(); });
 */
export function hardenApp(app: AppLike, options: HardenAppOptions): void {
  if (typeof app?.on !== 'function') throw new TypeError('hardenApp: the Electron app is required');
  const origins = normalizeOrigins(options?.origins, 'hardenApp');
  const sink = options.onDenied;
  app.on('web-contents-created', (_event, contents) => {
    guardContents(contents, { origins, source: 'app', sink });
    hardenSession(contents.session, { origins: [...origins], onDenied: sink });
    const problems = unsafeWebPreferences(contents.getLastWebPreferences?.());
    if (problems.length === 0) return;
    reportDenial({ source: 'app', reason: 'unsafe_web_preferences', webContentsId: contents.id, detail: problems.join(',') }, sink);
    refuseContents(contents);
    contents.close?.();
  });
}
