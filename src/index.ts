/**
 * Gatehouse: outbound internet API calls as a governed, audited capability.
 * @packageDocumentation
 */
export { createGateway } from './gateway/create-gateway.ts';
export type { Gateway, CallOptions, CallResult, RequestOptions, GatewayQueue } from './gateway/gateway.ts';
export type { QueueItem, QueueState } from './resilience/queue-store.ts';
export type { StatusEvent, StatusListener } from './resilience/status-events.ts';
export type { CircuitStatus } from './resilience/service-circuit.ts';
export type { GatewayOptions, NetworkOptions, AuditOptions } from './gateway/options.ts';
export type { TrustedRequest } from './gateway/build-trusted-request.ts';
export { loadPolicy } from './policy/load.ts';
export { PolicyError } from './policy/policy-error.ts';
export type { CompiledPolicy } from './policy/compiled.ts';
export { ERROR_KINDS, REASONS } from './errors.ts';
export type { ErrorKind, Reason, GatewayError } from './errors.ts';
export { memorySecretStore } from './auth/memory-store.ts';
export { keychainSecretStore } from './auth/keychain-store.ts';
export type { KeychainStoreOptions, KeychainSecretStore } from './auth/keychain-store.ts';
export { encryptedFileSecretStore } from './auth/encrypted-file-store.ts';
export type { EncryptedFileStoreOptions, EncryptedFileSecretStore } from './auth/encrypted-file-store.ts';
export { defaultSecretStore, PASSPHRASE_ENV } from './auth/default-store.ts';
export type { DefaultSecretStore, DefaultSecretStoreOptions, SecretStoreChoice } from './auth/default-store.ts';
export { SecretStoreError, isSecretStoreError } from './auth/secret-store-error.ts';
export type { SecretStoreErrorCode } from './auth/secret-store-error.ts';
export type { CredentialEvent, CredentialOutcome, SecretStoreEvent } from './auth/credential-events.ts';
export type {
  SecretStore,
  CredentialPayload,
  BearerPayload,
  ApiKeyPayload,
  BasicPayload,
  ClientCredentialsPayload,
  AuthorizationCodePayload,
} from './auth/secret-store.ts';
export type { AuditEvent } from './observe/audit-event.ts';
export type { SignInOptions, AuthStatus } from './auth/credential-provider.ts';
