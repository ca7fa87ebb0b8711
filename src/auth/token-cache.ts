/**
 * Access tokens in memory, per credential: used until shortly before they expire, never past
 * `expires_in`, and one fetch in flight per credential shared by every caller.
 * @see RFC 6749 §5.1, DESIGN.md §5 "OAuth details"
 * @internal
 */

/** An access token and when it stops being usable. */
export interface CachedToken {
  readonly accessToken: string;
  /** Epoch ms after which the server no longer accepts it; undefined = no `expires_in` given. */
  readonly expiresAt: number | undefined;
  /** Epoch ms from which it is renewed instead of sent (shortly before `expiresAt`). */
  readonly renewAt: number | undefined;
  /** Identifies the client credentials it was obtained with (rotation check). */
  readonly fingerprint: string;
}

/** Renew this long before expiry: 30 s, or a tenth of a lifetime shorter than 5 minutes. */
function renewalMargin(lifetimeMs: number): number {
  return Math.min(30_000, Math.max(0, lifetimeMs / 10));
}

/** The longest lifetime believed: an `expires_in` past it (`1e300`) is read as a year. */
const MAX_LIFETIME_MS = 365 * 24 * 3600 * 1000;

/** Builds a token from a token endpoint answer, its lifetime counted from when the request started. */
export function tokenFrom(accessToken: string, expiresIn: number | undefined, requestedAt: number, fingerprint: string): CachedToken {
  if (typeof expiresIn !== 'number' || !(expiresIn > 0)) return { accessToken, expiresAt: undefined, renewAt: undefined, fingerprint };
  const lifetimeMs = Math.min(expiresIn * 1000, MAX_LIFETIME_MS);
  const expiresAt = requestedAt + lifetimeMs;
  return { accessToken, expiresAt, renewAt: expiresAt - renewalMargin(lifetimeMs), fingerprint };
}

/** Whether `token` is not yet past `expires_in` at `now` (a token without a lifetime is, once). */
export function isUnexpired(token: CachedToken, now: number): boolean {
  return token.expiresAt === undefined || now < token.expiresAt;
}

/** Whether `token` may still be sent at `now`. A token without a known lifetime is never reused. */
export function isFresh(token: CachedToken, now: number): boolean {
  return token.renewAt !== undefined && now < token.renewAt;
}

/**
 * The token cache with single-flight fetching. Each name has a generation, advanced by
 * {@link TokenCache.forget} and {@link TokenCache.set}: a fetch that was started under an older
 * generation is no longer shared and its result is never cached.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<CachedToken>>();
  readonly #generations = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A fresh cached token for `name` obtained with `fingerprint`, else undefined. */
  fresh(name: string, fingerprint?: string): CachedToken | undefined {
    const token = this.#tokens.get(name);
    if (token === undefined || !isFresh(token, this.#now())) return undefined;
    if (fingerprint !== undefined && token.fingerprint !== fingerprint) return undefined;
    return token;
  }

  /** Any token held for `name`, fresh or not (for status). */
  peek(name: string): CachedToken | undefined {
    return this.#tokens.get(name);
  }

  /** The current generation of `name` (0 until it is first forgotten or set). */
  generation(name: string): number {
    return this.#generations.get(name) ?? 0;
  }

  /**
   * Runs `fetchToken` unless a fetch for `name` is already in flight, in which case its result is
   * shared. The result is cached when it has a lifetime and `name` was not forgotten or set since
   * the fetch started.
   */
  obtain(name: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
    const pending = this.#inFlight.get(name);
    if (pending !== undefined) return pending;
    const generation = this.generation(name);
    // No longer in flight once settled, before any waiter resumes: a waiter that finds the token
    // unusable starts a new fetch instead of joining this one again.
    const settle = (): void => {
      if (this.#inFlight.get(name) === fetching) this.#inFlight.delete(name);
    };
    const fetching: Promise<CachedToken> = fetchToken().then(
      (token) => {
        settle();
        if (token.expiresAt !== undefined && this.generation(name) === generation) this.#tokens.set(name, token);
        return token;
      },
      (error: unknown) => {
        settle();
        throw error;
      },
    );
    this.#inFlight.set(name, fetching);
    return fetching;
  }

  /**
   * Drops the cached token after a 401; true when one was held. A fetch in flight is kept: it
   * yields a new token, and a second one would spend the same refresh token twice.
   */
  drop(name: string): boolean {
    return this.#tokens.delete(name);
  }

  /** Forgets the token and any fetch in flight for `name`, and starts a new generation (sign-out). */
  forget(name: string): number {
    this.#tokens.delete(name);
    this.#inFlight.delete(name);
    const generation = this.generation(name) + 1;
    this.#generations.set(name, generation);
    return generation;
  }

  /** Installs `token` (from a sign-in) in place of anything held or in flight, in a new generation. */
  set(name: string, token: CachedToken): number {
    const generation = this.forget(name);
    if (token.expiresAt !== undefined) this.#tokens.set(name, token);
    return generation;
  }

  /** Time now, as this cache sees it. */
  now(): number {
    return this.#now();
  }
}
