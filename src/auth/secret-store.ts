/**
 * Secret stores hold credential payloads by name. This file is the interface only; each backend
 * has its own file.
 * @see FR-03, SR-03
 */

/** Payload of a `bearer` credential. */
export interface BearerPayload {
  token: string;
}
/** Payload of an `apiKey` credential (the header name is in the policy). */
export interface ApiKeyPayload {
  key: string;
}
/** Payload of a `basic` credential. */
export interface BasicPayload {
  username: string;
  password: string;
}
/** Payload of an `oauth2ClientCredentials` credential. */
export interface ClientCredentialsPayload {
  clientId: string;
  clientSecret: string;
}
/** Payload of an `oauth2AuthorizationCode` credential after sign-in. */
export interface AuthorizationCodePayload {
  refreshToken?: string;
}

/** Any credential payload; which one a name holds is given by the policy's credential type. */
export type CredentialPayload =
  | BearerPayload
  | ApiKeyPayload
  | BasicPayload
  | ClientCredentialsPayload
  | AuthorizationCodePayload;

/** Where credential payloads live. Values are never logged; `list` returns names only. */
export interface SecretStore {
  get(name: string): Promise<CredentialPayload | undefined>;
  set(name: string, payload: CredentialPayload): Promise<void>;
  delete(name: string): Promise<void>;
  list(): Promise<string[]>;
}
