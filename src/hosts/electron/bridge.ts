/**
 * The main-process half of the renderer bridge: one IPC channel on which allowed windows ask the
 * gateway for named operations. Every message is checked (sender, frame, origin, payload) before
 * the gateway sees it; the caller role comes only from `allow()`; answers are plain envelopes.
 * @see DESIGN.md §2 "Hosts", §4.8, §5 "Electron bridge", SR-01
 */
import type { CallOptions, CallResult } from '../../gateway/gateway.ts';
import { GatehouseFailure, sanitizeOperationId, toGatewayError } from '../../errors.ts';
import { resolveCorrelationId } from '../../observe/correlation.ts';
import { reportDenial, type DenialSink } from './denials.ts';
import { normalizeOrigins } from './origin.ts';
import { checkCallMessage } from './payload.ts';
import { checkSender, mainFrameAllowed, type Registration } from './sender.ts';
import type { IpcMainLike, WebContentsLike } from './surface.ts';
import { toWireResult, toWireStatus, type WireResult } from './wire.ts';

/** The IPC channel calls travel on (`ipcRenderer.invoke`). */
export const CALL_CHANNEL = 'gatehouse:call';
/** The IPC channel status events travel on (`webContents.send`). */
export const STATUS_CHANNEL = 'gatehouse:status';
/** All a refused sender learns. */
export const REFUSED_MESSAGE = 'gatehouse: request refused';

/** Roles a renderer may be given: a short identifier, never `main`. */
const ROLE = /^[A-Za-z0-9._-]{1,64}$/;

/** What the bridge needs from a gateway: `call`, and `onStatus` when the gateway has it. */
export interface BridgeableGateway {
  call(operation: string, params?: unknown, options?: CallOptions): Promise<CallResult>;
  onStatus?(listener: (event: unknown) => void): () => void;
}

/** Options of {@link exposeGateway}. */
export interface ExposeGatewayOptions {
  /** Electron's `ipcMain` (passed in, so this module never loads Electron itself). */
  readonly ipcMain: IpcMainLike;
  /**
   * Receives every refusal (also published on `gatehouse:bridge:denied`).
   * @default undefined — diagnostics channel only
   */
  readonly onDenied?: DenialSink;
}

/** Options of {@link GatewayBridge.allow}. */
export interface AllowOptions {
  /** The caller role the gateway sees for this window, e.g. `'renderer'`. Never `'main'`. */
  readonly role: string;
  /** Exact origins the window's main frame may have, e.g. `['app://main']`. */
  readonly origins: readonly string[];
}

/** The bridge returned by {@link exposeGateway}. */
export interface GatewayBridge {
  /**
   * Admits a window's contents. Calling it again for the same contents replaces role and origins.
   * @throws {TypeError} on a bad role (or `'main'`), bad origins, or destroyed contents
   */
  allow(webContents: WebContentsLike, options: AllowOptions): void;
  /** Stops serving the contents and cancels their in-flight calls. */
  revoke(webContents: WebContentsLike): void;
  /** Removes the IPC handler, stops status forwarding and revokes every window. */
  close(): void;
}

/**
 * Exposes a gateway to renderers over one IPC channel (`ipcMain.handle`).
 * @example
 * const bridge = exposeGateway(gateway, { ipcMain });
 * bridge.allow(win.webContents, { role: 'renderer', origins: ['app://main'] });
 * @see DESIGN.md §2 "Hosts"
 */
export function exposeGateway(gateway: BridgeableGateway, options: ExposeGatewayOptions): GatewayBridge {
  if (typeof gateway?.call !== 'function') throw new TypeError('exposeGateway: a gateway is required');
  const { ipcMain, onDenied } = options ?? ({} as ExposeGatewayOptions);
  if (typeof ipcMain?.handle !== 'function') throw new TypeError('exposeGateway: options.ipcMain is required');
  const registrations = new Map<number, Registration>();
  const watched = new WeakMap<WebContentsLike, () => void>();

  ipcMain.handle(CALL_CHANNEL, async (event, ...args): Promise<WireResult> => {
    const decision = checkSender(event, registrations);
    if (!decision.allow) {
      reportDenial({ source: 'bridge', reason: decision.reason, webContentsId: decision.webContentsId, origin: decision.origin }, onDenied);
      // Only an Error's message crosses ipcMain.handle: say nothing useful.
      throw new Error(REFUSED_MESSAGE);
    }
    const { registration, origin } = decision;
    const check = args.length === 1 ? checkCallMessage(args[0]) : checkCallMessage(undefined);
    if (!check.ok) {
      const operation = sanitizeOperationId(check.operation);
      reportDenial(
        { source: 'bridge', reason: check.reason, webContentsId: registration.webContents.id, origin, role: registration.role, operation, detail: check.detail },
        onDenied,
      );
      const failure = new GatehouseFailure('invalid_params', check.detail);
      return toWireResult({ ok: false, error: toGatewayError(failure, operation, resolveCorrelationId(check.correlationId)) });
    }
    const { message } = check;
    const callOptions: CallOptions & { idempotencyKey?: string } = {
      caller: registration.role,
      correlationId: message.correlationId,
      signal: registration.lifetime.signal,
    };
    if (message.idempotencyKey !== undefined) callOptions.idempotencyKey = message.idempotencyKey;
    try {
      return toWireResult(await gateway.call(message.operation, message.params, callOptions));
    } catch (error) {
      // `call` never throws by contract; if it does, the renderer still gets an envelope.
      const correlationId = resolveCorrelationId(message.correlationId);
      return toWireResult({ ok: false, error: toGatewayError(error, sanitizeOperationId(message.operation), correlationId) });
    }
  });

  const unsubscribe = gateway.onStatus?.((event: unknown) => {
    const wire = toWireStatus(event);
    if (wire === undefined) return;
    for (const registration of registrations.values()) {
      if (!mainFrameAllowed(registration)) continue;
      const { webContents } = registration;
      try {
        webContents.send(STATUS_CHANNEL, wire);
      } catch {
        // A window closing between the check and the send is not the gateway's problem.
      }
    }
  });

  const revoke = (webContents: WebContentsLike): void => {
    const registration = registrations.get(webContents?.id);
    if (registration === undefined || registration.webContents !== webContents) return;
    registrations.delete(webContents.id);
    registration.lifetime.abort();
    const listener = watched.get(webContents);
    if (listener !== undefined) {
      watched.delete(webContents);
      webContents.removeListener('destroyed', listener);
    }
  };

  return Object.freeze({
    allow(webContents: WebContentsLike, allowOptions: AllowOptions): void {
      if (typeof webContents?.id !== 'number' || typeof webContents.isDestroyed !== 'function') {
        throw new TypeError('bridge.allow: a webContents is required');
      }
      if (webContents.isDestroyed()) throw new TypeError('bridge.allow: the webContents is destroyed');
      const role = allowOptions?.role;
      if (typeof role !== 'string' || !ROLE.test(role) || role === 'main') {
        throw new TypeError("bridge.allow: role must be a short identifier other than 'main' (main is trusted process code)");
      }
      const origins = normalizeOrigins(allowOptions.origins, 'bridge.allow');
      const previous = registrations.get(webContents.id);
      if (previous !== undefined && previous.webContents !== webContents) revoke(previous.webContents);
      const lifetime = previous?.webContents === webContents ? previous.lifetime : new AbortController();
      registrations.set(webContents.id, Object.freeze({ webContents, role, origins, lifetime }));
      if (!watched.has(webContents)) {
        const onDestroyed = (): void => revoke(webContents);
        watched.set(webContents, onDestroyed);
        webContents.once('destroyed', onDestroyed);
      }
    },
    revoke,
    close(): void {
      ipcMain.removeHandler(CALL_CHANNEL);
      unsubscribe?.();
      for (const { webContents } of [...registrations.values()]) revoke(webContents);
    },
  });
}
