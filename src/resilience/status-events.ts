/**
 * Connectivity and offline-queue events for the host (`gateway.onStatus`). A throwing listener
 * never breaks the gateway or the other listeners.
 * @see DESIGN.md §2 "Connectivity and the offline queue"
 */
import type { QueueState } from './queue-store.ts';

/** What `gateway.onStatus` listeners receive. */
export type StatusEvent = { type: 'online' } | { type: 'offline' } | { type: 'queue'; id: string; state: QueueState };

/** A listener of {@link StatusEvent}s. */
export type StatusListener = (event: StatusEvent) => void;

/** A small event hub. */
export class StatusEvents {
  readonly #listeners = new Set<StatusListener>();

  /** Adds a listener; returns the function that removes it. */
  on(listener: StatusListener): () => void {
    // A wrapper per subscription, so the same function subscribed twice is removed once per call.
    const entry: StatusListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => {
      this.#listeners.delete(entry);
    };
  }

  emit(event: StatusEvent): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch {
        // The host's listener failing is the host's concern; the call pipeline goes on.
      }
    }
  }
}
