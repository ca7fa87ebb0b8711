/**
 * Session hardening: every permission denied (request, check and device handlers), every
 * http/https/ws/wss request of the session cancelled, and the app's CSP added to the responses of
 * its own origins. A session is hardened once; later calls only add origins for the CSP.
 * @see DESIGN.md §4.8, §5 "Electron bridge", FIELD-NOTES "Electron"
 */
import { APP_CONTENT_SECURITY_POLICY, withContentSecurityPolicy } from './csp.ts';
import { reportDenial, urlForAudit, type DenialSink } from './denials.ts';
import { normalizeOrigins, originOf, schemeOf } from './origin.ts';
import type { SessionLike } from './surface.ts';

/** URL patterns of the renderer network that is always cancelled. */
export const BLOCKED_URL_PATTERNS: readonly string[] = Object.freeze(['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*']);
const BLOCKED_SCHEMES: ReadonlySet<string> = new Set(['http:', 'https:', 'ws:', 'wss:']);

/** Options of {@link hardenSession}. */
export interface HardenSessionOptions {
  /** The app's own origins (e.g. `['app://main']`): their pages get the CSP header. */
  readonly origins: readonly string[];
  /**
   * Receives every denial (also published on `gatehouse:electron:denied`).
   * @default undefined — diagnostics channel only
   */
  readonly onDenied?: DenialSink;
  /** @default APP_CONTENT_SECURITY_POLICY */
  readonly contentSecurityPolicy?: string;
}

interface SessionState {
  readonly origins: Set<string>;
}

const hardened = new WeakMap<SessionLike, SessionState>();

/**
 * Hardens a session (once; later calls add CSP origins). It takes over the session's
 * `webRequest.onBeforeRequest` and `onHeadersReceived` listeners and its permission handlers,
 * so give renderers a session of their own (a `partition`) if the app uses `net` in main.
 * @example hardenSession(win.webContents.session, { origins: ['app://main'] });
 */
export function hardenSession(session: SessionLike, options: HardenSessionOptions): void {
  if (typeof session?.setPermissionRequestHandler !== 'function' || typeof session.webRequest?.onBeforeRequest !== 'function') {
    throw new TypeError('hardenSession: a session is required');
  }
  const origins = normalizeOrigins(options?.origins, 'hardenSession');
  const existing = hardened.get(session);
  if (existing !== undefined) {
    for (const origin of origins) existing.origins.add(origin);
    return;
  }
  const state: SessionState = { origins: new Set(origins) };
  hardened.set(session, state);
  const sink = options.onDenied;
  const policy = options.contentSecurityPolicy ?? APP_CONTENT_SECURITY_POLICY;

  session.setPermissionRequestHandler((webContents, permission, callback, details) => {
    reportDenial(
      { source: 'session', reason: 'permission_request', webContentsId: idOf(webContents), permission: String(permission), origin: urlForAudit(details?.requestingUrl) },
      sink,
    );
    callback(false);
  });
  session.setPermissionCheckHandler((webContents, permission, requestingOrigin) => {
    reportDenial(
      { source: 'session', reason: 'permission_check', webContentsId: idOf(webContents), permission: String(permission), origin: urlForAudit(requestingOrigin) },
      sink,
    );
    return false;
  });
  session.setDevicePermissionHandler?.(() => {
    reportDenial({ source: 'session', reason: 'device_permission' }, sink);
    return false;
  });
  session.webRequest.onBeforeRequest({ urls: [...BLOCKED_URL_PATTERNS] }, (details, callback) => {
    if (!BLOCKED_SCHEMES.has(schemeOf(details.url))) {
      callback({ cancel: false });
      return;
    }
    reportDenial({ source: 'session', reason: 'renderer_network', webContentsId: details.webContentsId, origin: urlForAudit(details.url) }, sink);
    callback({ cancel: true });
  });
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!state.origins.has(originOf(details.url))) {
      callback({});
      return;
    }
    callback({ responseHeaders: withContentSecurityPolicy(details.responseHeaders, policy) });
  });
}

function idOf(webContents: { id?: unknown } | null | undefined): number | undefined {
  const id = webContents?.id;
  return typeof id === 'number' ? id : undefined;
}
