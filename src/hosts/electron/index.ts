/**
 * `gatehouse/electron`: the main-process side of an Electron app — the renderer bridge and the
 * window, session and app hardening. Takes Electron's objects as arguments and imports only
 * types from `electron`, so it also runs (and is tested) under plain Node.
 * @see DESIGN.md §2 "Hosts", §4.8, §5 "Electron bridge"
 * @packageDocumentation
 */
export { exposeGateway, CALL_CHANNEL, STATUS_CHANNEL, REFUSED_MESSAGE } from './bridge.ts';
export type { GatewayBridge, ExposeGatewayOptions, AllowOptions, BridgeableGateway } from './bridge.ts';
export { hardenWindow } from './harden-window.ts';
export type { HardenWindowOptions } from './harden-window.ts';
export { hardenSession, BLOCKED_URL_PATTERNS } from './harden-session.ts';
export type { HardenSessionOptions } from './harden-session.ts';
export { hardenApp } from './harden-app.ts';
export type { HardenAppOptions } from './harden-app.ts';
export { APP_CONTENT_SECURITY_POLICY } from './csp.ts';
export { unsafeWebPreferences } from './web-preferences.ts';
export { originOf } from './origin.ts';
export { DENIAL_REASONS, bridgeDeniedChannel, electronDeniedChannel } from './denials.ts';
export type { DenialEvent, DenialReason, DenialSink } from './denials.ts';
export { MAX_PARAMS_BYTES, MAX_PARAMS_DEPTH } from './payload.ts';
export type { WireResult, WireStatus } from './wire.ts';
export { safeStorageSecretStore } from './safe-storage-store.ts';
export type { SafeStorageLike, SafeStorageStoreOptions } from './safe-storage-store.ts';
export type {
  AppLike,
  FrameLike,
  InvokeEventLike,
  IpcMainLike,
  SessionLike,
  WebContentsLike,
  WebPreferencesLike,
  WindowLike,
} from './surface.ts';
