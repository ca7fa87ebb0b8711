/**
 * Gatehouse: outbound internet API calls as a governed, audited capability.
 * @packageDocumentation
 */
export { createGateway } from './gateway/create-gateway.ts';
export type { Gateway, CallOptions, CallResult, RequestOptions } from './gateway/gateway.ts';
export type { GatewayOptions, NetworkOptions, AuditOptions } from './gateway/options.ts';
export type { TrustedRequest } from './gateway/build-trusted-request.ts';
export { loadPolicy } from './policy/load.ts';
export { PolicyError } from './policy/policy-error.ts';
export type { CompiledPolicy } from './policy/compiled.ts';
export { ERROR_KINDS, REASONS } from './errors.ts';
export type { ErrorKind, Reason, GatewayError } from './errors.ts';
export { memorySecretStore } from './auth/memory-store.ts';
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
