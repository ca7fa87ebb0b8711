/**
 * A per-service retry budget: retries within a sliding window may not exceed `ratio` of the
 * calls in it plus a small `floor`, so a failing upstream sees at most ~(1 + ratio) x the load.
 * @see DESIGN.md §4.6
 */

/** Settings of a {@link RetryBudget}. */
export interface RetryBudgetSettings {
  /** Retries allowed per call in the window. @default 0.2 */
  ratio?: number;
  /** Retries always allowed in the window, so a quiet service can still retry. @default 10 */
  floor?: number;
  /** Length of the sliding window. @default 10000 */
  windowMs?: number;
}

const SLOTS = 10;

/** Counts calls and retries in {@link SLOTS} time slots covering the window. */
export class RetryBudget {
  readonly #ratio: number;
  readonly #floor: number;
  readonly #slotMs: number;
  readonly #calls = new Array<number>(SLOTS).fill(0);
  readonly #retries = new Array<number>(SLOTS).fill(0);
  #slot = 0;

  constructor(settings: RetryBudgetSettings = {}) {
    this.#ratio = settings.ratio ?? 0.2;
    this.#floor = settings.floor ?? 10;
    this.#slotMs = (settings.windowMs ?? 10_000) / SLOTS;
  }

  /** Counts a call to the service. */
  recordCall(now = performance.now()): void {
    this.#calls[this.#advance(now)]! += 1;
  }

  /** Spends one retry if the budget allows it. */
  tryRetry(now = performance.now()): boolean {
    const index = this.#advance(now);
    const calls = this.#calls.reduce((sum, n) => sum + n, 0);
    const retries = this.#retries.reduce((sum, n) => sum + n, 0);
    if (retries >= this.#floor + this.#ratio * calls) return false;
    this.#retries[index]! += 1;
    return true;
  }

  /** Moves to the slot of `now`, clearing the slots passed over; returns its index. */
  #advance(now: number): number {
    const slot = Math.floor(now / this.#slotMs);
    const steps = Math.min(SLOTS, slot - this.#slot);
    for (let step = 1; step <= steps; step += 1) {
      const index = (this.#slot + step) % SLOTS;
      this.#calls[index] = 0;
      this.#retries[index] = 0;
    }
    if (steps > 0) this.#slot = slot;
    return this.#slot % SLOTS;
  }
}
