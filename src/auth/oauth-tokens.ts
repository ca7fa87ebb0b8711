/**
 * OAuth access tokens of both grant types, per credential: cached in memory until shortly before
 * expiry, never handed out past `expires_in`, one exchange in flight per credential, every request
 * through the credential's own egress rules; the signed-in state of user credentials.
 *
 * Sign-in and sign-out start a new generation of a user credential (see {@link TokenCache}): a
 * refresh that began before one of them settles without storing, caching or returning anything,
 * so it can neither undo a sign-out nor bring back the previous user. Each credential's store
 * reads and writes run one at a time, in the order they were asked for.
 * @see RFC 6749, RFC 8252, DESIGN.md §5 "Token endpoints", "OAuth details"
 * @internal
 */
import type * as oauth from 'oauth4webapi';
import { GatehouseFailure } from '../errors.ts';
import type { CredentialSpec } from '../policy/compiled.ts';
import { clientCredentialsOf, clientFingerprint, fetchClientCredentialsToken, bearerToken } from './client-credentials.ts';
import type { CredentialUse } from './credential-headers.ts';
import { publishCredentialEvent, storeReadFailure } from './credential-events.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { createOAuthFetch, type OAuthFetch, type OAuthNetwork } from './oauth-fetch.ts';
import { authorizationServerFor } from './oauth-metadata.ts';
import type { CredentialPayload, SecretStore } from './secret-store.ts';
import { refreshWithToken, revokedGrants, runSignIn } from './sign-in.ts';
import { TokenCache, isFresh, isUnexpired, type CachedToken } from './token-cache.ts';
import { raceAbort } from '../resilience/abortable.ts';

type OAuthSpec = Extract<CredentialSpec, { type: 'oauth2ClientCredentials' | 'oauth2AuthorizationCode' }>;
type UserSpec = Extract<CredentialSpec, { type: 'oauth2AuthorizationCode' }>;

/** Settings of {@link OAuthTokens}. */
export interface OAuthTokensOptions extends OAuthNetwork {
  secrets: SecretStore;
  /** Deadline of one token or discovery exchange. */
  tokenTimeoutMs: number;
  now?: () => number;
}

const USER_FINGERPRINT = 'user';

/** Token management for every OAuth credential of one gateway. */
export class OAuthTokens {
  readonly #options: OAuthTokensOptions;
  readonly #cache: TokenCache;
  readonly #fetches = new Map<string, OAuthFetch>();
  readonly #servers = new Map<string, Promise<oauth.AuthorizationServer>>();
  /**
   * The refresh tokens user credentials are known to hold in the store: who is signed in, and a
   * secret a service's answer must not carry (though services are never sent it).
   */
  readonly #refreshTokens = new Map<string, string>();
  /** Each credential's store reads and writes, one at a time. */
  readonly #storeQueue = new KeyedQueue();

  constructor(options: OAuthTokensOptions) {
    this.#options = options;
    this.#cache = new TokenCache(options.now);
  }

  /**
   * The access token to send for `spec` now: cached, fetched or refreshed, with the other secrets
   * the credential holds (its client secret or refresh token: a service's answer must not carry
   * them either). `call.signal` ends a fetch or refresh; it is read only then (a call may make it
   * on demand).
   */
  async accessToken(spec: OAuthSpec, call: { readonly signal: AbortSignal }): Promise<{ token: string; use: CredentialUse; held: readonly string[] }> {
    if (spec.type === 'oauth2ClientCredentials') {
      // Read the store every time: a rotated client secret is used by the next call.
      const client = clientCredentialsOf(spec, await this.#readStore(spec));
      const { clientSecret } = client;
      const fingerprint = clientFingerprint(client.clientId, clientSecret);
      const cached = this.#cache.fresh(spec.name, fingerprint);
      if (cached !== undefined) return { token: cached.accessToken, use: 'cached', held: [clientSecret] };
      const fetched = await this.#unexpiredToken(spec, 'fetched', call.signal, (exchangeSignal) =>
        fetchClientCredentialsToken(spec, client, this.#fetchFor(spec), exchangeSignal, () => this.#cache.now()),
      );
      return { token: fetched.accessToken, use: 'fetched', held: [clientSecret] };
    }
    const cached = this.#cache.fresh(spec.name);
    if (cached !== undefined) return { token: cached.accessToken, use: 'cached', held: this.#heldRefreshToken(spec) };
    const refreshed = await this.#unexpiredToken(spec, 'refreshed', call.signal, (exchangeSignal) => this.#refresh(spec, exchangeSignal));
    return { token: refreshed.accessToken, use: 'refreshed', held: this.#heldRefreshToken(spec) };
  }

  #heldRefreshToken(spec: UserSpec): readonly string[] {
    const refreshToken = this.#refreshTokens.get(spec.name);
    return refreshToken === undefined ? [] : [refreshToken];
  }

  /** Drops the cached token after a 401. */
  invalidate(spec: OAuthSpec): boolean {
    this.#cache.drop(spec.name);
    publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'invalidated', source: 'cache' });
    return true;
  }

  /**
   * Interactive sign-in. Its token replaces whatever was cached or being refreshed, and its grant
   * replaces the stored one: the refresh token under the credential's name, or no entry at all
   * when the answer has none (the previous user's refresh token must not outlive this sign-in).
   */
  async signIn(spec: UserSpec, openUrl: (url: string) => void | Promise<void>, signal: AbortSignal): Promise<void> {
    const started = performance.now();
    try {
      const server = await this.#serverFor(spec, signal);
      const requestedAt = this.#cache.now();
      const answer = await runSignIn({ spec, server, fetch: this.#fetchFor(spec), openUrl, signal });
      const token = bearerToken(spec.name, answer, requestedAt, USER_FINGERPRINT);
      const refreshToken = answer.refresh_token;
      const generation = this.#cache.set(spec.name, token);
      if (refreshToken === undefined) this.#refreshTokens.delete(spec.name);
      else this.#refreshTokens.set(spec.name, refreshToken);
      const current = (): boolean => this.#cache.generation(spec.name) === generation;
      try {
        await this.#storeQueue.run(spec.name, async () => {
          if (!current()) return; // signed out or in again since: that one's write comes next
          if (refreshToken === undefined) await this.#options.secrets.delete(spec.name);
          else await this.#options.secrets.set(spec.name, { refreshToken });
        });
      } catch (error) {
        if (current()) {
          this.#cache.forget(spec.name);
          this.#refreshTokens.delete(spec.name);
          await this.#storeQueue.run(spec.name, () => this.#options.secrets.delete(spec.name)).catch(() => undefined);
        }
        throw error;
      }
      publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'signed_in', source: 'token_endpoint', durationMs: elapsed(started) });
    } catch (error) {
      publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'failed', reason: reasonOf(error) });
      throw error;
    }
  }

  /** Forgets the user's tokens, in memory and in the store. */
  async signOut(spec: UserSpec): Promise<void> {
    this.#cache.forget(spec.name);
    this.#refreshTokens.delete(spec.name);
    await this.#storeQueue.run(spec.name, () => this.#options.secrets.delete(spec.name));
    publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'signed_out', source: 'store' });
  }

  /** Signed-in state from memory only (synchronous). */
  status(spec: UserSpec): { signedIn: boolean; expiresAt?: string } {
    const token = this.#cache.peek(spec.name);
    const fresh = token !== undefined && isFresh(token, this.#cache.now());
    const signedIn = this.#refreshTokens.has(spec.name) || fresh;
    return fresh && token.expiresAt !== undefined ? { signedIn, expiresAt: new Date(token.expiresAt).toISOString() } : { signedIn };
  }

  /** Learns from the store whether a user credential holds a refresh token (for `status`). */
  async loadSignedIn(spec: UserSpec): Promise<void> {
    const generation = this.#cache.generation(spec.name);
    await this.#storeQueue.run(spec.name, async () => {
      const payload = (await this.#options.secrets.get(spec.name)) as { refreshToken?: unknown } | undefined;
      // A sign-in or sign-out since startup knows better than what was read.
      if (this.#cache.generation(spec.name) === generation && typeof payload?.refreshToken === 'string') this.#refreshTokens.set(spec.name, payload.refreshToken);
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#fetches.values()].map((fetch) => fetch.close()));
  }

  async #refresh(spec: UserSpec, signal: AbortSignal): Promise<CachedToken> {
    const generation = this.#cache.generation(spec.name);
    const current = (): boolean => this.#cache.generation(spec.name) === generation;
    const refreshToken = await this.#storeQueue.run(spec.name, async () => {
      const payload = (await this.#readStore(spec)) as { refreshToken?: unknown } | undefined;
      if (!current()) throw superseded(spec);
      const stored = payload?.refreshToken;
      if (typeof stored !== 'string' || stored === '') {
        this.#refreshTokens.delete(spec.name);
        throw new GatehouseFailure('missing_credential', `credential '${spec.name}' needs the user to sign in`);
      }
      this.#refreshTokens.set(spec.name, stored);
      return stored;
    });
    const server = await this.#serverFor(spec, signal);
    if (!current()) throw superseded(spec);
    const requestedAt = this.#cache.now();
    let answer: oauth.TokenEndpointResponse;
    try {
      answer = await refreshWithToken(spec, server, refreshToken, this.#fetchFor(spec), signal);
    } catch (error) {
      if (typeof error === 'object' && error !== null && revokedGrants.has(error)) {
        // The grant is dead: forget it so status says signed out and the next call asks to sign
        // in — unless a newer sign-in (or sign-out) owns the entry by now.
        await this.#storeQueue.run(spec.name, async () => {
          if (!current()) return;
          this.#refreshTokens.delete(spec.name);
          await this.#options.secrets.delete(spec.name);
        }).catch(() => undefined);
      }
      throw current() ? error : superseded(spec);
    }
    await this.#storeQueue.run(spec.name, async () => {
      if (!current()) throw superseded(spec);
      // A rotated refresh token replaces the old one (RFC 6749 §6, OAuth 2.1 §4.3.1).
      const rotated = answer.refresh_token;
      if (rotated !== undefined && rotated !== refreshToken) {
        await this.#options.secrets.set(spec.name, { refreshToken: rotated });
        this.#refreshTokens.set(spec.name, rotated);
      }
    });
    return bearerToken(spec.name, answer, requestedAt, USER_FINGERPRINT);
  }

  /**
   * An exchange whose token is not already past `expires_in` when it arrives (a slow answer): one
   * more exchange if it is, then a refusal — such a token is never sent.
   * @see DESIGN.md §5 "OAuth details"
   */
  async #unexpiredToken(spec: OAuthSpec, outcome: 'fetched' | 'refreshed', signal: AbortSignal, run: (signal: AbortSignal) => Promise<CachedToken>): Promise<CachedToken> {
    for (let attempt = 1; ; attempt++) {
      const token = await this.#exchange(spec, outcome, signal, run);
      if (isUnexpired(token, this.#cache.now())) return token;
      if (attempt === 2) throw new GatehouseFailure('missing_credential', `the token for '${spec.name}' had expired by the time it arrived`);
    }
  }

  /** One shared exchange per credential, with its own deadline; the caller may stop waiting. */
  async #exchange(spec: OAuthSpec, outcome: 'fetched' | 'refreshed', signal: AbortSignal, run: (signal: AbortSignal) => Promise<CachedToken>): Promise<CachedToken> {
    const started = performance.now();
    const pending = this.#cache.obtain(spec.name, () =>
      run(AbortSignal.timeout(this.#options.tokenTimeoutMs)).then(
        (token) => {
          publishCredentialEvent({ credential: spec.name, type: spec.type, outcome, source: 'token_endpoint', durationMs: elapsed(started) });
          return token;
        },
        (error: unknown) => {
          publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'failed', source: 'token_endpoint', reason: reasonOf(error) });
          throw error;
        },
      ),
    );
    return raceAbort(pending, signal);
  }

  #serverFor(spec: OAuthSpec, signal: AbortSignal): Promise<oauth.AuthorizationServer> {
    let server = this.#servers.get(spec.name);
    if (server === undefined) {
      server = authorizationServerFor(spec, this.#fetchFor(spec), AbortSignal.any([signal, AbortSignal.timeout(this.#options.tokenTimeoutMs)]));
      this.#servers.set(spec.name, server);
      server.catch(() => this.#servers.delete(spec.name));
    }
    return server;
  }

  #fetchFor(spec: OAuthSpec): OAuthFetch {
    let fetch = this.#fetches.get(spec.name);
    if (fetch === undefined) {
      fetch = createOAuthFetch(spec.privateRanges, this.#options);
      this.#fetches.set(spec.name, fetch);
    }
    return fetch;
  }

  async #readStore(spec: OAuthSpec): Promise<CredentialPayload | undefined> {
    try {
      return await this.#options.secrets.get(spec.name);
    } catch (cause) {
      throw storeReadFailure(spec, cause);
    }
  }
}

/** A refresh overtaken by a sign-in or sign-out of the same credential. */
function superseded(spec: UserSpec): GatehouseFailure {
  return new GatehouseFailure('missing_credential', `credential '${spec.name}' was signed out or in again during its token refresh`);
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

function reasonOf(error: unknown): string {
  const reason = (error as { reason?: unknown } | null)?.reason;
  return typeof reason === 'string' ? reason : 'error';
}

