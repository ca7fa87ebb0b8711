/**
 * Online/offline: the host's signal (`gateway.setOnline`, e.g. Electron's `net.isOnline()`) and
 * automatic detection. While the host says offline, attempts fail at once as
 * `offline`/`no_network`, sending nothing. Automatically, the gateway counts as offline after
 * {@link UNREACHABLE_STREAK} attempts in a row failed to reach the network at all (network or host
 * unreachable, or name resolution failing with `EAI_AGAIN`), and online again at the next answer
 * of any status. Detection does not stop attempts: they are what notices the network is back.
 * @see DESIGN.md §2 "Connectivity and the offline queue"
 */
import { GatehouseFailure, isFailure } from '../errors.ts';
import type { StatusEvents } from './status-events.ts';

/** Consecutive unreachable attempts that mean "offline". */
export const UNREACHABLE_STREAK = 2;

/** Whether an error, or one in its cause chain, has the code `EAI_AGAIN`. */
function isResolverUnavailable(error: unknown, depth = 0): boolean {
  if (error === null || typeof error !== 'object' || depth > 4) return false;
  if ((error as { code?: unknown }).code === 'EAI_AGAIN') return true;
  return isResolverUnavailable((error as { cause?: unknown }).cause, depth + 1);
}

/** The gateway's view of the network, learnt from the host and from each attempt. */
export class Connectivity {
  readonly #events: StatusEvents;
  #hostOnline = true;
  #detectedOffline = false;
  #streak = 0;

  constructor(events: StatusEvents) {
    this.#events = events;
  }

  /** Whether calls are expected to reach the network. */
  get online(): boolean {
    return this.#hostOnline && !this.#detectedOffline;
  }

  /** Whether the host allows sending at all. */
  get hostOnline(): boolean {
    return this.#hostOnline;
  }

  /** The host's signal; `true` also clears an automatic "offline". */
  setHostOnline(online: boolean): void {
    const before = this.online;
    this.#hostOnline = online;
    if (online) {
      this.#detectedOffline = false;
      this.#streak = 0;
    }
    this.#announce(before);
  }

  /** @throws GatehouseFailure `no_network` while the host reports no network (nothing is sent). */
  assertHostOnline(): void {
    if (!this.#hostOnline) throw new GatehouseFailure('no_network', 'the host reports no network');
  }

  /** Learns from an attempt that got an answer; passes its value on (a promise handler, made once). */
  readonly answered = <T>(value: T): T => {
    this.#reached(true);
    return value;
  };

  /** Learns from an attempt that failed; rethrows its failure (a promise handler, made once). */
  readonly failed = (error: unknown): never => {
    if (isFailure(error)) {
      if (error.reason === 'no_network' || (error.kind === 'dns_error' && isResolverUnavailable(error))) this.#reached(false);
      else if (error.status !== undefined) this.#reached(true);
    }
    throw error;
  };

  #reached(reached: boolean): void {
    const before = this.online;
    this.#streak = reached ? 0 : this.#streak + 1;
    this.#detectedOffline = !reached && (this.#detectedOffline || this.#streak >= UNREACHABLE_STREAK);
    this.#announce(before);
  }

  #announce(before: boolean): void {
    const now = this.online;
    if (now !== before) this.#events.emit({ type: now ? 'online' : 'offline' });
  }
}
