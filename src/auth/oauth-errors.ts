/**
 * Turns what an OAuth exchange threw into a Gatehouse failure that names the credential and at
 * most the OAuth error *code* — never a description, a body, a token or a client secret (a token
 * endpoint may echo what it was sent).
 * @see RFC 6749 §5.2
 * @internal
 */
import * as oauth from 'oauth4webapi';
import { GatehouseFailure, classifyError, isFailure, statusFailure } from '../errors.ts';

// Only registered codes are repeated: any other string is the server's choice and could carry
// what it was sent. RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1, OpenID Connect Core §3.1.2.6.
const REGISTERED_CODES: ReadonlySet<string> = new Set([
  'invalid_request', 'unauthorized_client', 'access_denied', 'unsupported_response_type', 'invalid_scope',
  'server_error', 'temporarily_unavailable', 'invalid_client', 'invalid_grant', 'unsupported_grant_type',
  'invalid_token', 'insufficient_scope',
  'interaction_required', 'login_required', 'account_selection_required', 'consent_required',
]);

/**
 * The OAuth error code of a failed exchange, safe to log: a registered code such as
 * `invalid_grant`, `oauth_error` for any other code, undefined when there is none.
 */
function oauthErrorCode(error: unknown): string | undefined {
  let code = (error as { error?: unknown } | null)?.error;
  if (error instanceof oauth.WWWAuthenticateChallengeError) code = error.cause[0]?.parameters.error;
  if (typeof code !== 'string') return undefined;
  return REGISTERED_CODES.has(code) ? code : 'oauth_error';
}

/** The HTTP status of the answer an oauth4webapi processing error is about, if any. */
function statusOf(error: oauth.OperationProcessingError): number | undefined {
  const status = (error.cause as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Classifies a failed token or discovery exchange for `credential`.
 * OAuth refusals (4xx, `invalid_grant`, malformed answers) are `auth_required`/`missing_credential`;
 * 5xx and 429 answers keep their status kind; network failures keep their network kind; an exchange past
 * its own deadline is `timeout`/`deadline`.
 */
export function oauthFailure(error: unknown, credential: string): GatehouseFailure {
  if (isFailure(error)) return error;
  // The exchange's own deadline (tokenTimeoutMs): the server is slow, the credential may be fine.
  if (error instanceof DOMException && error.name === 'TimeoutError') return new GatehouseFailure('deadline', `OAuth exchange for '${credential}' took too long`);
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) {
    // An overloaded or failing server says nothing about the credential.
    if (error.status >= 500 || error.status === 429) return statusFailure(error.status);
    const code = oauthErrorCode(error) ?? `status ${error.status}`;
    return new GatehouseFailure('missing_credential', `authorization server refused credential '${credential}' (${code})`, { status: error.status });
  }
  if (error instanceof oauth.AuthorizationResponseError) {
    return new GatehouseFailure('missing_credential', `sign-in for '${credential}' was refused (${oauthErrorCode(error) ?? 'error'})`);
  }
  if (error instanceof oauth.OperationProcessingError) {
    const status = statusOf(error);
    if (status !== undefined && status >= 500) return statusFailure(status);
    // Its message describes the protocol problem, not a value; its cause may hold the body: dropped.
    return new GatehouseFailure('missing_credential', `authorization server answer for '${credential}' is unusable (${error.code ?? 'invalid'})`);
  }
  const classified = classifyError(error);
  return classified.reason === 'bug'
    ? new GatehouseFailure('missing_credential', `OAuth exchange for '${credential}' failed`)
    : classified;
}
