/**
 * Turns what an OAuth exchange threw into a Gatehouse failure that names the credential and at
 * most the OAuth error *code* — never a description, a body, a token or a client secret (a token
 * endpoint may echo what it was sent).
 * @see RFC 6749 §5.2
 * @internal
 */
import * as oauth from 'oauth4webapi';
import { GatehouseFailure, classifyError, isFailure, statusFailure } from '../errors.ts';

// RFC 6749 §5.2: error codes are %x20-21 / %x23-5B / %x5D-7E; we only repeat short snake_case ones.
const SAFE_CODE = /^[a-z][a-z0-9_]{0,40}$/;

/** An OAuth error code safe to log, e.g. `invalid_grant`, else undefined. */
export function oauthErrorCode(error: unknown): string | undefined {
  let code = (error as { error?: unknown } | null)?.error;
  if (error instanceof oauth.WWWAuthenticateChallengeError) code = error.cause[0]?.parameters.error;
  return typeof code === 'string' && SAFE_CODE.test(code) ? code : undefined;
}

/** The HTTP status of the answer an oauth4webapi processing error is about, if any. */
function statusOf(error: oauth.OperationProcessingError): number | undefined {
  const status = (error.cause as { status?: unknown } | undefined)?.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Classifies a failed token or discovery exchange for `credential`.
 * OAuth refusals (4xx, `invalid_grant`, malformed answers) are `auth_required`/`missing_credential`;
 * 5xx answers keep their status kind; network failures keep their network kind.
 */
export function oauthFailure(error: unknown, credential: string, aborted?: 'deadline' | 'caller'): GatehouseFailure {
  if (isFailure(error)) return error;
  if (error instanceof oauth.ResponseBodyError || error instanceof oauth.WWWAuthenticateChallengeError) {
    if (error.status >= 500) return statusFailure(error.status);
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
  if (aborted !== undefined) return classifyError(error, aborted);
  const classified = classifyError(error);
  return classified.reason === 'bug'
    ? new GatehouseFailure('missing_credential', `OAuth exchange for '${credential}' failed`)
    : classified;
}
