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
export function renewalMargin(lifetimeMs: number): number {
  return Math.min(30_000, Math.max(0, lifetimeMs / 10));
}

/** Builds a token from a token endpoint answer, its lifetime counted from when the request started. */
export function tokenFrom(accessToken: string, expiresIn: number | undefined, requestedAt: number, fingerprint: string): CachedToken {
  if (typeof expiresIn !== 'number' || !(expiresIn > 0)) return { accessToken, expiresAt: undefined, renewAt: undefined, fingerprint };
  const lifetimeMs = expiresIn * 1000;
  const expiresAt = requestedAt + lifetimeMs;
  return { accessToken, expiresAt, renewAt: expiresAt - renewalMargin(lifetimeMs), fingerprint };
}

/** Whether `token` may still be sent at `now`. A token without a known lifetime is never reused. */
export function isFresh(token: CachedToken, now: number): boolean {
  return token.renewAt !== undefined && now < token.renewAt;
}

/** The token cache with single-flight fetching. */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #inFlight = new Map<string, Promise<CachedToken>>();
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

  /**
   * Runs `fetchToken` unless a fetch for `name` is already in flight, in which case its result is
   * shared. The result is cached when it has a lifetime.
   */
  obtain(name: string, fetchToken: () => Promise<CachedToken>): Promise<CachedToken> {
    let pending = this.#inFlight.get(name);
    if (pending === undefined) {
      pending = fetchToken().then((token) => {
        if (token.expiresAt !== undefined) this.#tokens.set(name, token);
        return token;
      });
      const settled = pending.finally(() => {
        if (this.#inFlight.get(name) === pending) this.#inFlight.delete(name);
      });
      settled.catch(() => undefined);
      this.#inFlight.set(name, pending);
    }
    return pending;
  }

  /** Drops the cached token; true when one was held. */
  drop(name: string): boolean {
    return this.#tokens.delete(name);
  }

  /** Time now, as this cache sees it. */
  now(): number {
    return this.#now();
  }
}
