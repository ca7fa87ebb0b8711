/**
 * A faithful stand-in for the parts of Electron the host code touches, for tests under plain
 * Node: `ipcMain.handle` (one handler per channel, arguments and results structured-cloned, only
 * an Error's message crossing back), `webContents` (ids, destruction, navigation with frame swap,
 * popups, webviews, `send`), `WebFrameMain` (origin, url, detached; `senderFrame` reads as null
 * once the frame is destroyed), a session (permission handlers, `webRequest`) and `app`.
 */
import { EventEmitter } from 'node:events';
import type { FrameLike, InvokeEventLike, RequestDetailsLike, SessionLike, WebPreferencesLike } from '../../src/hosts/electron/surface.ts';

let nextId = 1;

/** The origin Chromium gives a document: a tuple origin for http(s) and standard custom schemes. */
function documentOrigin(url: string): string {
  const parsed = new URL(url);
  if (parsed.protocol === 'http:' || parsed.protocol === 'https:') return parsed.origin;
  return parsed.host === '' ? 'null' : `${parsed.protocol}//${parsed.host}`;
}

/** `WebFrameMain`. */
export class StandInFrame implements FrameLike {
  origin: string;
  url: string;
  detached = false;
  readonly parent: StandInFrame | null;
  #destroyed = false;

  constructor(url: string, options: { origin?: string; parent?: StandInFrame } = {}) {
    this.url = url;
    this.origin = options.origin ?? documentOrigin(url);
    this.parent = options.parent ?? null;
  }

  isDestroyed(): boolean {
    return this.#destroyed;
  }

  destroy(): void {
    this.#destroyed = true;
    this.detached = true;
  }
}

type PermissionRequestHandler = Parameters<SessionLike['setPermissionRequestHandler']>[0];
type PermissionCheckHandler = Parameters<SessionLike['setPermissionCheckHandler']>[0];
type BeforeRequest = (details: RequestDetailsLike, callback: (response: { cancel?: boolean }) => void) => void;
type HeadersReceived = (details: RequestDetailsLike, callback: (response: { cancel?: boolean; responseHeaders?: Record<string, string | string[]> }) => void) => void;

/** `Session`, with helpers that play the requests and permission prompts a page would cause. */
export class StandInSession {
  requestHandler: PermissionRequestHandler | undefined;
  checkHandler: PermissionCheckHandler | undefined;
  deviceHandler: ((details: unknown) => boolean) | undefined;
  beforeRequest: { patterns: string[]; listener: BeforeRequest } | undefined;
  headersReceived: HeadersReceived | undefined;

  readonly webRequest = {
    onBeforeRequest: (filter: { urls: string[] }, listener: BeforeRequest): void => {
      this.beforeRequest = { patterns: filter.urls, listener };
    },
    onHeadersReceived: (listener: HeadersReceived): void => {
      this.headersReceived = listener;
    },
  };

  setPermissionRequestHandler(handler: PermissionRequestHandler): void {
    this.requestHandler = handler;
  }
  setPermissionCheckHandler(handler: PermissionCheckHandler): void {
    this.checkHandler = handler;
  }
  setDevicePermissionHandler(handler: (details: unknown) => boolean): void {
    this.deviceHandler = handler;
  }

  /** A page asks for a permission; Electron grants it when no handler is set. */
  requestPermission(wc: StandInWebContents, permission: string, requestingUrl: string): Promise<boolean> {
    const handler = this.requestHandler;
    if (handler === undefined) return Promise.resolve(true);
    return new Promise((resolve) => handler(wc, permission, resolve, { requestingUrl }));
  }

  /** A page checks a permission; Electron answers true when no handler is set. */
  checkPermission(wc: StandInWebContents | null, permission: string, requestingOrigin: string): boolean {
    return this.checkHandler === undefined ? true : this.checkHandler(wc, permission, requestingOrigin, {});
  }

  /** A request leaves the renderer; resolves to whether it was cancelled. */
  request(url: string, details: Partial<RequestDetailsLike> = {}): Promise<boolean> {
    const hook = this.beforeRequest;
    if (hook === undefined || !hook.patterns.some((pattern) => matchesPattern(pattern, url))) return Promise.resolve(false);
    return new Promise((resolve) => hook.listener({ url, ...details }, (response) => resolve(response.cancel === true)));
  }

  /** A response arrives; resolves to the headers the page sees. */
  receive(url: string, responseHeaders: Record<string, string[]>): Promise<Record<string, string | string[]>> {
    const hook = this.headersReceived;
    if (hook === undefined) return Promise.resolve(responseHeaders);
    return new Promise((resolve) => hook({ url, responseHeaders, resourceType: 'mainFrame' }, (response) => resolve(response.responseHeaders ?? responseHeaders)));
  }
}

/** Chromium URL patterns `scheme://host/path`, `*` matching anything in host and path. */
function matchesPattern(pattern: string, url: string): boolean {
  const [scheme, rest] = pattern.split('://') as [string, string];
  if (!url.toLowerCase().startsWith(`${scheme}://`)) return false;
  const regex = new RegExp(`^${rest.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const { host, pathname, search } = new URL(url);
  return regex.test(`${host}${pathname}${search}`);
}

/** A navigation event as Electron passes it. */
export function navigationEvent(url: string, isMainFrame = true): { url: string; isMainFrame: boolean; defaultPrevented: boolean; preventDefault(): void } {
  return {
    url,
    isMainFrame,
    defaultPrevented: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
  };
}

/** `WebContents`. */
export class StandInWebContents extends EventEmitter {
  readonly id = nextId++;
  readonly session: StandInSession;
  readonly preferences: WebPreferencesLike;
  /** Messages sent to the renderer, after cloning. */
  readonly sent: { channel: string; args: unknown[] }[] = [];
  /** Receives `send` on the renderer side (see StandInRenderer). */
  deliver: ((channel: string, args: unknown[]) => void) | undefined;
  #mainFrame: StandInFrame;
  #destroyed = false;
  #windowOpenHandler: ((details: { url: string }) => { action: string }) | undefined;

  constructor(url: string, options: { session?: StandInSession; preferences?: WebPreferencesLike; origin?: string } = {}) {
    super();
    this.session = options.session ?? new StandInSession();
    this.preferences = options.preferences ?? {};
    this.#mainFrame = new StandInFrame(url, { origin: options.origin });
  }

  get mainFrame(): StandInFrame {
    return this.#mainFrame;
  }
  isDestroyed(): boolean {
    return this.#destroyed;
  }
  /** Closes the window: the frame goes, `destroyed` fires. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#mainFrame.destroy();
    this.emit('destroyed');
  }
  close(): void {
    this.destroy();
  }
  getLastWebPreferences(): WebPreferencesLike {
    return { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true, webviewTag: false, ...this.preferences };
  }
  send(channel: string, ...args: unknown[]): void {
    if (this.#destroyed) throw new Error('Object has been destroyed');
    const cloned = structuredClone(args);
    this.sent.push({ channel, args: cloned });
    this.deliver?.(channel, cloned);
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: string }): void {
    this.#windowOpenHandler = handler;
  }
  /** The WebRTC IP handling policy last set (Electron's default is 'default'). */
  webRTCIPHandlingPolicy = 'default';
  setWebRTCIPHandlingPolicy(policy: string): void {
    this.webRTCIPHandlingPolicy = policy;
  }
  /** `window.open(url)` from the page; returns whether a window would open. */
  openWindow(url: string): boolean {
    return (this.#windowOpenHandler?.({ url }).action ?? 'allow') === 'allow';
  }
  /** A main-frame navigation started by the page; a new document gets a new frame object. */
  navigate(url: string, event: 'will-navigate' | 'will-redirect' = 'will-navigate'): boolean {
    const details = navigationEvent(url);
    this.emit(event, details, url);
    if (!details.defaultPrevented) this.emit('will-frame-navigate', details);
    if (details.defaultPrevented) return false;
    this.#mainFrame.destroy();
    this.#mainFrame = new StandInFrame(url);
    return true;
  }
  /** A subframe navigation; returns whether it went ahead. */
  navigateSubframe(url: string): boolean {
    const details = navigationEvent(url, false);
    this.emit('will-frame-navigate', details);
    return !details.defaultPrevented;
  }
  /** A `<webview>` about to attach; returns whether it would be created. */
  attachWebview(src: string, preferences: WebPreferencesLike = {}): boolean {
    const event = navigationEvent(src);
    this.emit('will-attach-webview', event, preferences, { src });
    return !event.defaultPrevented;
  }
  /** An iframe of the page. */
  addSubframe(url: string): StandInFrame {
    return new StandInFrame(url, { parent: this.#mainFrame });
  }
}

/** `ipcMain`: one handler per channel, as Electron enforces. */
export class StandInIpcMain {
  readonly #handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();

  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void {
    if (this.#handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.#handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.#handlers.delete(channel);
  }
  /** The raw handler, for forging events Electron would never build. */
  handlerFor(channel: string): ((event: unknown, ...args: unknown[]) => unknown) | undefined {
    return this.#handlers.get(channel) as ((event: unknown, ...args: unknown[]) => unknown) | undefined;
  }

  /** `ipcRenderer.invoke` from a frame of `sender`: arguments and result are structured-cloned. */
  async invoke(sender: StandInWebContents, frame: StandInFrame, channel: string, ...args: unknown[]): Promise<unknown> {
    let cloned: unknown[];
    try {
      cloned = structuredClone(args);
    } catch (error) {
      // Chromium reports an uncloneable value generically; an exception from a getter propagates.
      if ((error as Error).name === 'DataCloneError') throw new Error('An object could not be cloned.');
      throw error;
    }
    const handler = this.#handlers.get(channel);
    if (handler === undefined) throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    const event = {
      sender,
      get senderFrame() {
        return frame.isDestroyed() ? null : frame;
      },
      frameId: 1,
      processId: 1,
      type: 'frame',
    } as InvokeEventLike;
    let result: unknown;
    try {
      result = await handler(event, ...cloned);
    } catch (error) {
      // Only the message crosses, as in Electron.
      throw new Error(`Error invoking remote method '${channel}': Error: ${error instanceof Error ? error.message : String(error)}`);
    }
    return structuredClone(result);
  }
}

/** `app`: emits `web-contents-created` for each contents it makes. */
export class StandInApp extends EventEmitter {
  createWebContents(url: string, options: ConstructorParameters<typeof StandInWebContents>[1] = {}): StandInWebContents {
    const contents = new StandInWebContents(url, options);
    this.emit('web-contents-created', { preventDefault() {} }, contents);
    return contents;
  }
}
