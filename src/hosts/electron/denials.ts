/**
 * Denials by the Electron host — refused IPC senders and payloads, blocked navigation, popups,
 * permissions, renderer network and unsafe windows — reported as data. Each denial is published
 * on a diagnostics channel and handed to the app's `onDenied` sink, if it gave one. A denial
 * carries origins, never full URLs, parameter values or payloads.
 * @see DESIGN.md §4.8, §5 "Electron bridge", STYLE.md §11
 */
import { channel } from 'node:diagnostics_channel';
import { originOf, schemeOf } from './origin.ts';

/** Every reason the Electron host denies something. */
export const DENIAL_REASONS = [
  // the IPC bridge
  'unknown_sender',
  'destroyed_sender',
  'not_main_frame',
  'origin_not_allowed',
  'malformed_payload',
  'params_too_large',
  'params_too_deep',
  // windows and sessions
  'window_open',
  'navigation',
  'redirect',
  'frame_navigation',
  'webview',
  'unsafe_web_preferences',
  'permission_request',
  'permission_check',
  'device_permission',
  'renderer_network',
] as const;

/** Why something was denied. */
export type DenialReason = (typeof DENIAL_REASONS)[number];

/** One denial, as published and given to `onDenied`. */
export interface DenialEvent {
  /** ISO 8601. */
  readonly time: string;
  /** `bridge` for IPC, `window`/`session`/`app` for hardening. */
  readonly source: 'bridge' | 'window' | 'session' | 'app';
  readonly reason: DenialReason;
  /** The webContents involved, when known. */
  readonly webContentsId?: number;
  /** Origin of the sender or of the refused URL (`scheme://host[:port]`, or `'null'`). */
  readonly origin?: string;
  /** Role of an allowed sender whose payload was refused. */
  readonly role?: string;
  /** Operation id of a refused payload (control characters removed, at most 200 chars). */
  readonly operation?: string;
  /** Permission name, for permission denials. */
  readonly permission?: string;
  /** Short machine-readable detail, e.g. the offending field name; never a value. */
  readonly detail?: string;
}

/** Receives denials; called synchronously, and its exceptions are swallowed. */
export type DenialSink = (event: DenialEvent) => void;

/** IPC refusals: `diagnostics_channel.subscribe('gatehouse:bridge:denied', fn)`. */
export const bridgeDeniedChannel = channel('gatehouse:bridge:denied');
/** Window, session and app hardening denials. */
export const electronDeniedChannel = channel('gatehouse:electron:denied');

/** What a denial says, before the time is stamped. @internal */
export type DenialInput = Omit<DenialEvent, 'time'>;

/**
 * Publishes a denial and gives it to the sink. Never throws.
 * @internal
 */
export function reportDenial(input: DenialInput, sink: DenialSink | undefined): void {
  const event: DenialEvent = Object.freeze({ time: new Date().toISOString(), ...input });
  const target = event.source === 'bridge' ? bridgeDeniedChannel : electronDeniedChannel;
  if (target.hasSubscribers) target.publish(event);
  if (sink === undefined) return;
  try {
    sink(event);
  } catch {
    // The app's sink failing must not turn a denial into an allow or crash the main process.
  }
}

/** The origin of a URL for a denial record: enough to investigate, no path or query. @internal */
export function urlForAudit(url: unknown): string {
  if (typeof url !== 'string') return 'null';
  const origin = originOf(url);
  if (origin !== 'null') return origin;
  return schemeOf(url) || 'null';
}
