/**
 * Per-webContents guards: no new windows, no `<webview>`, and navigation or redirects (main frame
 * and subframes) only within the allowed origins. Installed once per contents; the origins can be
 * narrowed later (a window's own origins replace the app-wide ones).
 * @see DESIGN.md §5 "Electron bridge", FIELD-NOTES "Electron"
 */
import { reportDenial, urlForAudit, type DenialEvent, type DenialReason, type DenialSink } from './denials.ts';
import { isAllowedUrl } from './origin.ts';
import type { NavigationEventLike, WebContentsLike } from './surface.ts';

interface GuardState {
  origins: ReadonlySet<string>;
  /** Set when the contents were refused (unsafe preferences): nothing may load. */
  refused: boolean;
  source: DenialEvent['source'];
  sink: DenialSink | undefined;
}

const guarded = new WeakMap<WebContentsLike, GuardState>();

/** Settings for {@link guardContents}. @internal */
export interface GuardSettings {
  readonly origins: ReadonlySet<string>;
  readonly source: DenialEvent['source'];
  readonly sink: DenialSink | undefined;
}

/**
 * Installs the guards on a webContents, or updates the origins of guards already installed.
 * @internal
 */
export function guardContents(contents: WebContentsLike, settings: GuardSettings): void {
  const existing = guarded.get(contents);
  if (existing !== undefined) {
    existing.origins = settings.origins;
    existing.source = settings.source;
    existing.sink = settings.sink ?? existing.sink;
    return;
  }
  const state: GuardState = { origins: settings.origins, refused: false, source: settings.source, sink: settings.sink };
  guarded.set(contents, state);
  const deny = (reason: DenialReason, url: unknown): void =>
    reportDenial({ source: state.source, reason, webContentsId: contents.id, origin: urlForAudit(url) }, state.sink);
  const guardNavigation = (reason: DenialReason) => (event: NavigationEventLike, legacyUrl?: string) => {
    const url = event?.url ?? legacyUrl;
    if (!state.refused && isAllowedUrl(url, state.origins)) return;
    event.preventDefault();
    deny(reason, url);
  };

  contents.setWindowOpenHandler((details) => {
    deny('window_open', details?.url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', guardNavigation('navigation'));
  contents.on('will-redirect', guardNavigation('redirect'));
  contents.on('will-frame-navigate', guardNavigation('frame_navigation'));
  contents.on('will-attach-webview', (event, _webPreferences, params) => {
    event.preventDefault();
    deny('webview', params?.src);
  });
  // WebRTC needs no permission and neither webRequest nor CSP govern it: without direct UDP it
  // can only go through a proxy, and the renderer session has none it may use.
  contents.setWebRTCIPHandlingPolicy?.('disable_non_proxied_udp');
}

/** Marks guarded contents as refused: every navigation is prevented from now on. @internal */
export function refuseContents(contents: WebContentsLike): void {
  const state = guarded.get(contents);
  if (state !== undefined) state.refused = true;
}
