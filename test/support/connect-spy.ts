/**
 * A connect spy: proves that a refused call dialed nothing (DESIGN.md §6).
 *
 * It listens on `node:diagnostics_channel`:
 * - `net.client.socket` — published by `net.Socket#connect` (Node 24: also for `tls.connect`,
 *   so undici's HTTPS and HTTP connections are both seen), before any name lookup;
 * - each such socket's `connectionAttempt` event — emitted when a TCP connect to a resolved
 *   address starts, i.e. when a packet would leave;
 * - `undici:client:beforeConnect` — undici deciding to open a connection.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/** One TCP connect that was started. */
export interface ConnectAttempt {
  address: string;
  port: number;
  family: number;
}

/** What the spy has seen since it was created. */
export interface ConnectSpy {
  /** TCP connects started (packets sent); assert 0 for a refused call. */
  readonly count: number;
  /** Sockets asked to connect, whether or not a lookup let them dial; 0 if refused before dispatch. */
  readonly sockets: number;
  /** undici connection openings (`undici:client:beforeConnect`). */
  readonly undiciConnects: number;
  /** The addresses of {@link count}. */
  readonly attempts: readonly ConnectAttempt[];
  /** Stops listening. */
  dispose(): void;
}

const NET_CHANNEL = 'net.client.socket';
const LOOPBACK = /^(?:127\.|::1$|::ffff:127\.)/;
const UNDICI_CHANNEL = 'undici:client:beforeConnect';

/**
 * Starts counting connection attempts in this process.
 * @example
 * const spy = spyConnections();
 * try { ...; assert.equal(spy.count, 0); } finally { spy.dispose(); }
 */
export function spyConnections(): ConnectSpy {
  const attempts: ConnectAttempt[] = [];
  let sockets = 0;
  let undiciConnects = 0;
  let active = true;

  const onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket;
    if (socket === undefined) return;
    sockets++;
    socket.on('connectionAttempt', (address: string, port: number, family: number) => {
      if (active) attempts.push({ address, port, family });
    });
    // Safety net for regressions: a socket about to dial anything but loopback is destroyed at
    // its 'lookup' event, before connect() (Node checks `connecting` right after emitting it),
    // and counted as an attempt so the test still fails.
    socket.on('lookup', (_error: unknown, address: string, family: number) => {
      if (!active || typeof address !== 'string' || LOOPBACK.test(address)) return;
      attempts.push({ address, port: 0, family });
      socket.destroy(new Error('connect spy: refused to dial a non-loopback address'));
    });
  };
  const onUndici = (): void => {
    undiciConnects++;
  };
  subscribe(NET_CHANNEL, onSocket);
  subscribe(UNDICI_CHANNEL, onUndici);

  return {
    get count() {
      return attempts.length;
    },
    get sockets() {
      return sockets;
    },
    get undiciConnects() {
      return undiciConnects;
    },
    attempts,
    dispose() {
      if (!active) return;
      active = false;
      unsubscribe(NET_CHANNEL, onSocket);
      unsubscribe(UNDICI_CHANNEL, onUndici);
    },
  };
}
