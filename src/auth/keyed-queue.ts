/**
 * Runs tasks one at a time per key, in the order they were queued; tasks of different keys run
 * independently. A failed task does not stop the ones queued after it.
 * @internal
 */
export class KeyedQueue {
  readonly #tails = new Map<string, Promise<void>>();

  /** Runs `task` once every task queued before it under `key` has settled. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return result;
  }
}

/** One queue for a whole store: each task runs once the one before it has settled, whether it failed or not. */
export function serialQueue(): <T>(task: () => Promise<T>) => Promise<T> {
  const queue = new KeyedQueue();
  return (task) => queue.run('', task);
}
