/**
 * Who may use the bridge: the decision for one IPC message's sender. Pure; throws nothing, and
 * never trusts what the event claims (`sender.id`) without checking it is the very object that
 * was allowed.
 * @see DESIGN.md §5 "Electron bridge", FIELD-NOTES "Electron"
 */
import { frameOrigin } from './origin.ts';
import type { InvokeEventLike, WebContentsLike } from './surface.ts';

/** An allowed webContents, as registered by `bridge.allow()`. */
export interface Registration {
  readonly webContents: WebContentsLike;
  /** Caller role for the gateway; never `main`. */
  readonly role: string;
  readonly origins: ReadonlySet<string>;
  /** Aborted when the contents are destroyed or revoked: ends their in-flight calls. */
  readonly lifetime: AbortController;
}

/** The decision for a sender. */
export type SenderDecision =
  | { readonly allow: true; readonly registration: Registration; readonly origin: string }
  | {
      readonly allow: false;
      readonly reason: 'unknown_sender' | 'destroyed_sender' | 'not_main_frame' | 'origin_not_allowed';
      readonly webContentsId: number | undefined;
      readonly origin: string | undefined;
    };

/**
 * Decides whether an IPC event may be served: its webContents is the registered object (by id
 * and identity) and alive, the sending frame is that contents' live main frame, and the frame's
 * origin is one of the allowed origins exactly.
 */
export function checkSender(event: unknown, registrations: ReadonlyMap<number, Registration>): SenderDecision {
  const sender = readProperty(event, 'sender') as WebContentsLike | undefined;
  const id = readProperty(sender, 'id');
  const webContentsId = typeof id === 'number' ? id : undefined;
  const refuse = (reason: Exclude<SenderDecision, { allow: true }>['reason'], origin?: string): SenderDecision => ({
    allow: false,
    reason,
    webContentsId,
    origin,
  });
  const registration = webContentsId === undefined ? undefined : registrations.get(webContentsId);
  if (registration === undefined || registration.webContents !== sender) return refuse('unknown_sender');
  const contents = registration.webContents;
  if (safeCall(() => contents.isDestroyed()) !== false) return refuse('destroyed_sender');

  // `senderFrame` is a getter in Electron that returns null once the frame is gone.
  const frame = readProperty(event as InvokeEventLike, 'senderFrame') as InvokeEventLike['senderFrame'] | undefined;
  const mainFrame = safeCall(() => contents.mainFrame);
  if (frame === null || frame === undefined || frame !== mainFrame) return refuse('not_main_frame');
  if (frame.detached === true || safeCall(() => frame.isDestroyed?.()) === true) return refuse('not_main_frame');

  const origin = safeCall(() => frameOrigin(frame)) ?? 'null';
  if (!registration.origins.has(origin)) return refuse('origin_not_allowed', origin);
  return { allow: true, registration, origin };
}

/** Whether a registered window is alive and its current main frame has an allowed origin. */
export function mainFrameAllowed(registration: Registration): boolean {
  const contents = registration.webContents;
  return checkSender({ sender: contents, senderFrame: safeCall(() => contents.mainFrame) }, new Map([[contents.id, registration]])).allow;
}

/** Reads a property of an untrusted value; a throwing getter reads as undefined. */
function readProperty(target: unknown, key: string): unknown {
  if (typeof target !== 'object' || target === null) return undefined;
  try {
    return (target as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function safeCall<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}
