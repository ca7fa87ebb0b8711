/**
 * The narrow slice of Electron's main-process API that Gatehouse uses, written as structural
 * types. Real `ipcMain`, `WebContents`, `WebFrameMain`, `Session` and `App` objects fit them (a
 * type test checks this against the real `electron` definitions), and so do the test stand-ins, so
 * this code runs under plain Node without the Electron binary.
 * @see DESIGN.md §1 "Only hosts/electron imports electron, and only as types"
 */

/** `WebFrameMain`: the frame a message came from. */
export interface FrameLike {
  /** Serialized origin; `'null'` for opaque origins. */
  readonly origin: string;
  readonly url: string;
  /** True once the frame is no longer in the frame tree (navigated away or removed). */
  readonly detached?: boolean;
  isDestroyed?(): boolean;
}

/** The `webPreferences` fields Gatehouse checks. */
export interface WebPreferencesLike {
  contextIsolation?: boolean;
  sandbox?: boolean;
  nodeIntegration?: boolean;
  nodeIntegrationInSubFrames?: boolean;
  nodeIntegrationInWorker?: boolean;
  webSecurity?: boolean;
  webviewTag?: boolean;
  allowRunningInsecureContent?: boolean;
  experimentalFeatures?: boolean;
  enableBlinkFeatures?: string;
}

/** Details of a permission request or check (only `requestingUrl` is read, when present). */
export interface PermissionDetailsLike {
  readonly requestingUrl?: string;
}

/** One network request as `webRequest` reports it. */
export interface RequestDetailsLike {
  readonly url: string;
  readonly webContentsId?: number;
  readonly resourceType?: string;
  readonly responseHeaders?: Record<string, string[]>;
}

/** `session.webRequest`. Each session has one listener per event: the last one set wins. */
export interface WebRequestLike {
  onBeforeRequest(
    filter: { urls: string[] },
    listener: (details: RequestDetailsLike, callback: (response: { cancel?: boolean }) => void) => void,
  ): void;
  onHeadersReceived(
    listener: (
      details: RequestDetailsLike,
      callback: (response: { cancel?: boolean; responseHeaders?: Record<string, string | string[]> }) => void,
    ) => void,
  ): void;
}

/** `Session`. */
export interface SessionLike {
  readonly webRequest: WebRequestLike;
  setPermissionRequestHandler(
    handler: (webContents: WebContentsLike, permission: string, callback: (granted: boolean) => void, details: PermissionDetailsLike) => void,
  ): void;
  setPermissionCheckHandler(
    handler: (webContents: WebContentsLike | null, permission: string, requestingOrigin: string, details: PermissionDetailsLike) => boolean,
  ): void;
  setDevicePermissionHandler?(handler: (details: unknown) => boolean): void;
}

/** A navigation event: Electron passes `{ url, preventDefault }` (older versions also a url argument). */
export interface NavigationEventLike {
  readonly url?: string;
  readonly isMainFrame?: boolean;
  preventDefault(): void;
}

/** `WebContents`. */
export interface WebContentsLike {
  readonly id: number;
  readonly mainFrame: FrameLike;
  readonly session: SessionLike;
  isDestroyed(): boolean;
  send(channel: string, ...args: unknown[]): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void;
  on(event: 'destroyed', listener: () => void): unknown;
  on(event: 'will-navigate', listener: (event: NavigationEventLike, url: string) => void): unknown;
  on(event: 'will-redirect', listener: (event: NavigationEventLike, url: string) => void): unknown;
  on(event: 'will-frame-navigate', listener: (event: NavigationEventLike) => void): unknown;
  on(
    event: 'will-attach-webview',
    listener: (event: { preventDefault(): void }, webPreferences: WebPreferencesLike, params: Record<string, string>) => void,
  ): unknown;
  once(event: 'destroyed', listener: () => void): unknown;
  removeListener(event: 'destroyed', listener: () => void): unknown;
  /** Undocumented but present in Electron: the preferences the contents were created with. */
  getLastWebPreferences?(): WebPreferencesLike | null;
  /** Closes the contents (Electron 30+). */
  close?(): void;
  /** How WebRTC may pick network paths (Electron `webContents.setWebRTCIPHandlingPolicy`). */
  setWebRTCIPHandlingPolicy?(policy: 'default' | 'default_public_interface_only' | 'default_public_and_private_interfaces' | 'disable_non_proxied_udp'): void;
}

/** `BrowserWindow` (only its contents are used). */
export interface WindowLike {
  readonly webContents: WebContentsLike;
}

/** `IpcMainInvokeEvent`. */
export interface InvokeEventLike {
  readonly sender: WebContentsLike;
  /** `null` after the frame navigated or was destroyed. */
  readonly senderFrame: FrameLike | null;
}

/** `ipcMain`. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** `app`. */
export interface AppLike {
  on(event: 'web-contents-created', listener: (event: unknown, webContents: WebContentsLike) => void): unknown;
}
