/**
 * Diagnostics events of credentials and secret stores: names and outcomes, never a value.
 * Subscribe with `diagnostics_channel.subscribe('gatehouse:credential', fn)`.
 * @see FR-03, STYLE.md §11
 */
import { channel } from 'node:diagnostics_channel';
import { GatehouseFailure } from '../errors.ts';

/** What happened to a credential. */
export type CredentialOutcome =
  /** A payload was read from the secret store, or a token was obtained from the token endpoint. */
  | 'fetched'
  /** An access token was renewed with a refresh token. */
  | 'refreshed'
  /** A cached access token was dropped after a 401. */
  | 'invalidated'
  | 'signed_in'
  | 'signed_out'
  /** No usable credential: missing payload, token endpoint refusal, network failure. */
  | 'failed';

/** One event on `gatehouse:credential`. Holds names and outcomes only. */
export interface CredentialEvent {
  /** ISO 8601. */
  time: string;
  /** The credential's name in the policy. */
  credential: string;
  /** Its type in the policy. */
  type: string;
  outcome: CredentialOutcome;
  /** Where the credential came from: the secret store, a token endpoint, or the in-memory token cache. */
  source?: 'store' | 'token_endpoint' | 'cache';
  /** Why it failed: a Gatehouse reason, or an OAuth error code such as `invalid_grant`. */
  reason?: string;
  /** Time spent, for token endpoint requests. */
  durationMs?: number;
}

/** One event on `gatehouse:secret-store`: which store the default selection chose, and why. */
export interface SecretStoreEvent {
  time: string;
  store: 'keychain' | 'encrypted-file' | 'none';
  /** Short reason, e.g. `keychain usable` or `keychain unusable; passphrase from GATEHOUSE_SECRET_PASSPHRASE`. */
  detail: string;
}

/** Credential use: fetched, refreshed, failed, ... by name. */
const credentialChannel = channel('gatehouse:credential');
/** The default secret store selection. */
const secretStoreChannel = channel('gatehouse:secret-store');

/** Publishes a credential event when anyone listens. @internal */
export function publishCredentialEvent(event: Omit<CredentialEvent, 'time'>): void {
  if (credentialChannel.hasSubscribers) credentialChannel.publish({ time: new Date().toISOString(), ...event });
}

/** Publishes the store selection when anyone listens. @internal */
export function publishSecretStoreEvent(event: Omit<SecretStoreEvent, 'time'>): void {
  if (secretStoreChannel.hasSubscribers) secretStoreChannel.publish({ time: new Date().toISOString(), ...event });
}

/** A secret store read for `spec` failed: publishes that, and returns the call's failure. @internal */
export function storeReadFailure(spec: { readonly name: string; readonly type: string }, cause: unknown): GatehouseFailure {
  publishCredentialEvent({ credential: spec.name, type: spec.type, outcome: 'failed', source: 'store', reason: 'secret_store' });
  return new GatehouseFailure('missing_credential', `secret store failed for '${spec.name}'`, { cause });
}
