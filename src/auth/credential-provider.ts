/**
 * Credentials at send time: the one place the gateway asks for the headers of a service's bound
 * credential, and where user sign-in state lives. The gateway knows nothing of credential types.
 * Every use is published on `gatehouse:credential` by name and outcome, never with a value.
 * @see FR-03, SR-03, DESIGN.md §4.5, §5 "Token endpoints", "OAuth details"
 */
import { GatehouseFailure } from '../errors.ts';
import type { LookupFunction } from '../net/dispatcher.ts';
import type { ProxyConfig } from '../net/proxy-config.ts';
import type { CompiledPolicy, CredentialSpec } from '../policy/compiled.ts';
import { staticCredentialHeaders, type AppliedCredential } from './credential-headers.ts';
import { publishCredentialEvent, storeReadFailure } from './credential-events.ts';
import { OAuthTokens } from './oauth-tokens.ts';
import type { SecretStore } from './secret-store.ts';

/** Options of `gateway.signIn`. */
export interface SignInOptions {
  /** Opens the authorization URL in the system browser (Electron: `shell.openExternal`). */
  openUrl: (url: string) => void | Promise<void>;
  /** Aborting it ends the sign-in: `signIn` rejects and the redirect listener closes. */
  signal?: AbortSignal;
  /** How long the user has to finish signing in. @default 300000 (5 minutes) */
  timeoutMs?: number;
}

/** Signed-in state of a user credential; never a token. */
export interface AuthStatus {
  signedIn: boolean;
  /** When the current access token expires (ISO 8601), if one is held. */
  expiresAt?: string;
}

/** Supplies credential headers and manages sign-in. */
export interface CredentialProvider {
  /**
   * Headers for `spec`, read from the secret store (or a token cache) now. `call.signal` ends a
   * token fetch; it is read only when one is needed (it may be made on demand).
   */
  apply(spec: CredentialSpec, call: { readonly signal: AbortSignal }): Promise<AppliedCredential>;
  /** Forgets a cached access token after a 401; true when a fresh one may be fetched. */
  invalidate(spec: CredentialSpec): boolean;
  signIn(name: string, options: SignInOptions): Promise<void>;
  signOut(name: string): Promise<void>;
  authStatus(name: string): AuthStatus;
  /** Closes the connections to token endpoints. */
  close(): Promise<void>;
}

/** What a provider needs. */
export interface CredentialProviderOptions {
  policy: CompiledPolicy;
  secrets: SecretStore;
  /** Resolver for token endpoints, as for services. @default node:dns lookup */
  lookup?: LookupFunction | undefined;
  /** Extra trusted roots for token endpoints, as for services. @default [] */
  ca?: readonly string[] | undefined;
  /** Forward proxy for token endpoints, as for services. @default none */
  proxy?: ProxyConfig | undefined;
  /** Deadline of one token or discovery exchange. @default 15000 */
  tokenTimeoutMs?: number;
  /** Clock (tests). @default Date.now */
  now?: () => number;
}

const DEFAULT_SIGN_IN_TIMEOUT_MS = 300_000;

/** The provider for every credential type of the policy. */
export function createCredentialProvider(options: CredentialProviderOptions): CredentialProvider {
  const { policy, secrets } = options;
  const tokens = new OAuthTokens({
    secrets,
    lookup: options.lookup,
    ca: options.ca,
    proxy: options.proxy,
    tokenTimeoutMs: options.tokenTimeoutMs ?? 15_000,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  // Store reads in flight, by credential: concurrent calls share one, so a store that hangs (a
  // locked keychain) holds one worker thread, not one per call. The first call a read answers
  // forgets it; the keys are the policy's credential names, so they are kept.
  const reading = new Map<string, ReturnType<SecretStore['get']> | undefined>();

  // authStatus is synchronous: learn early which users hold a refresh token from an earlier run.
  for (const spec of policy.credentials.values()) {
    if (spec.type === 'oauth2AuthorizationCode') tokens.loadSignedIn(spec).catch(() => undefined);
  }

  function userSpec(name: string): Extract<CredentialSpec, { type: 'oauth2AuthorizationCode' }> {
    const spec = typeof name === 'string' ? policy.credentials.get(name) : undefined;
    if (spec?.type !== 'oauth2AuthorizationCode') {
      throw new GatehouseFailure('missing_credential', 'not an oauth2AuthorizationCode credential of the policy');
    }
    return spec;
  }

  return {
    async apply(spec, call) {
      if (spec.type === 'oauth2ClientCredentials' || spec.type === 'oauth2AuthorizationCode') {
        const { token, use, held } = await tokens.accessToken(spec, call);
        return { headers: { authorization: `Bearer ${token}` }, secrets: [token, ...held], use };
      }
      let read = reading.get(spec.name);
      let payload;
      try {
        if (read === undefined) {
          read = secrets.get(spec.name);
          reading.set(spec.name, read);
        }
        payload = await read;
      } catch (error) {
        throw storeReadFailure(spec, error);
      } finally {
        if (reading.get(spec.name) === read) reading.set(spec.name, undefined);
      }
      try {
        const applied = staticCredentialHeaders(spec, payload);
        publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'fetched', source: 'store' });
        return applied;
      } catch (error) {
        publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'failed', source: 'store', reason: 'missing_credential' });
        throw error;
      }
    },
    invalidate(spec) {
      if (spec.type !== 'oauth2ClientCredentials' && spec.type !== 'oauth2AuthorizationCode') return false;
      return tokens.invalidate(spec);
    },
    async signIn(name, signInOptions) {
      const spec = userSpec(name);
      if (typeof signInOptions?.openUrl !== 'function') throw new TypeError('signIn needs an openUrl function');
      const timeoutMs = signInOptions.timeoutMs ?? DEFAULT_SIGN_IN_TIMEOUT_MS;
      const signals = [AbortSignal.timeout(timeoutMs), ...(signInOptions.signal ? [signInOptions.signal] : [])];
      await tokens.signIn(spec, signInOptions.openUrl, AbortSignal.any(signals));
    },
    async signOut(name) {
      await tokens.signOut(userSpec(name));
    },
    authStatus(name) {
      const spec = typeof name === 'string' ? policy.credentials.get(name) : undefined;
      return spec?.type === 'oauth2AuthorizationCode' ? tokens.status(spec) : { signedIn: false };
    },
    close() {
      return tokens.close();
    },
  };
}
