/**
 * Credentials at send time: the one place the gateway asks for the headers of a service's bound
 * credential, and where user sign-in state lives. The gateway knows nothing of credential types.
 * @see FR-03, SR-03, DESIGN.md §4.5
 */
import { GatehouseFailure } from '../errors.ts';
import type { CompiledPolicy, CredentialSpec } from '../policy/compiled.ts';
import { staticCredentialHeaders, type AppliedCredential } from './credential-headers.ts';
import type { SecretStore } from './secret-store.ts';

/** Options of `gateway.signIn`. */
export interface SignInOptions {
  /** Opens the authorization URL in the system browser (Electron: `shell.openExternal`). */
  openUrl: (url: string) => void | Promise<void>;
  signal?: AbortSignal;
}

/** Signed-in state of a user credential; never a token. */
export interface AuthStatus {
  signedIn: boolean;
  /** When the current access token expires (ISO 8601), if one is held. */
  expiresAt?: string;
}

/** Supplies credential headers and manages sign-in. */
export interface CredentialProvider {
  /** Headers for `spec`, read from the secret store (or a token cache) now. */
  apply(spec: CredentialSpec, signal: AbortSignal): Promise<AppliedCredential>;
  /** Forgets a cached access token after a 401; true when a fresh one may be fetched. */
  invalidate(spec: CredentialSpec): boolean;
  signIn(name: string, options: SignInOptions): Promise<void>;
  signOut(name: string): Promise<void>;
  authStatus(name: string): AuthStatus;
}

/** What a provider needs. */
export interface CredentialProviderOptions {
  policy: CompiledPolicy;
  secrets: SecretStore;
}

/** The provider for static credentials (bearer, apiKey, basic). */
export function createCredentialProvider(options: CredentialProviderOptions): CredentialProvider {
  const { secrets } = options;
  return {
    async apply(spec) {
      let payload;
      try {
        payload = await secrets.get(spec.name);
      } catch (error) {
        throw new GatehouseFailure('missing_credential', `secret store failed for '${spec.name}'`, { cause: error });
      }
      return staticCredentialHeaders(spec, payload);
    },
    invalidate() {
      return false;
    },
    async signIn() {
      throw new GatehouseFailure('missing_credential', 'sign-in is not available for this credential');
    },
    async signOut(name) {
      await secrets.delete(name);
    },
    authStatus() {
      return { signedIn: false };
    },
  };
}
