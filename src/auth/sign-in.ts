/**
 * Interactive user sign-in for an `oauth2AuthorizationCode` credential, the native-app way: the
 * system browser (through the host's `openUrl`), a one-shot loopback redirect listener, PKCE S256
 * and a 256-bit state; the code is exchanged only for the redirect carrying that state.
 * @see RFC 8252 (OAuth 2.0 for Native Apps), RFC 7636 (PKCE), RFC 6749 §4.1
 * @internal
 */
import * as oauth from 'oauth4webapi';
import { GatehouseFailure, isFailure } from '../errors.ts';
import type { CredentialSpec } from '../policy/compiled.ts';
import { abortFailure, startLoopbackRedirect } from './loopback-redirect.ts';
import type { OAuthFetch } from './oauth-fetch.ts';
import { oauthFailure } from './oauth-errors.ts';

type AuthorizationCodeSpec = Extract<CredentialSpec, { type: 'oauth2AuthorizationCode' }>;

/** What one sign-in needs. */
export interface SignInRun {
  spec: AuthorizationCodeSpec;
  server: oauth.AuthorizationServer;
  fetch: OAuthFetch;
  openUrl: (url: string) => void | Promise<void>;
  /** Aborts the sign-in: the caller's signal combined with the deadline. */
  signal: AbortSignal;
}

/** Runs a sign-in to its token response; the listener is closed however it ends. */
export async function runSignIn(run: SignInRun): Promise<oauth.TokenEndpointResponse> {
  const { spec, server, fetch, signal } = run;
  if (server.authorization_endpoint === undefined) {
    throw new GatehouseFailure('missing_credential', `authorization server of '${spec.name}' has no authorization endpoint`);
  }
  const client: oauth.Client = { client_id: spec.clientId, token_endpoint_auth_method: 'none' };
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState(); // 32 random bytes, base64url
  const listener = await startLoopbackRedirect(state);
  try {
    const url = new URL(server.authorization_endpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', spec.clientId);
    url.searchParams.set('redirect_uri', listener.redirectUri);
    if (spec.scopes.length > 0) url.searchParams.set('scope', spec.scopes.join(' '));
    // OpenID Connect Core §11: a refresh token for offline use needs the user's consent.
    if (spec.scopes.includes('offline_access')) url.searchParams.set('prompt', 'consent');
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    if (signal.aborted) throw abortFailure(signal);
    await run.openUrl(url.href);
    const redirect = await listener.wait(signal);
    const params = oauth.validateAuthResponse(server, client, redirect, state);
    const response = await oauth.authorizationCodeGrantRequest(server, client, oauth.None(), params, listener.redirectUri, verifier, {
      [oauth.customFetch]: fetch,
      signal,
    });
    return await oauth.processAuthorizationCodeResponse(server, client, response);
  } catch (error) {
    if (isFailure(error)) throw error;
    // The signal combines the caller's and the deadline's: its reason tells which one fired.
    if (signal.aborted) throw abortFailure(signal);
    throw oauthFailure(error, spec.name);
  } finally {
    await listener.close();
  }
}

/**
 * Renews the access token with the stored refresh token.
 * @see RFC 6749 §6
 */
export async function refreshWithToken(
  spec: AuthorizationCodeSpec,
  server: oauth.AuthorizationServer,
  refreshToken: string,
  fetch: OAuthFetch,
  signal: AbortSignal,
): Promise<oauth.TokenEndpointResponse> {
  const client: oauth.Client = { client_id: spec.clientId, token_endpoint_auth_method: 'none' };
  try {
    const response = await oauth.refreshTokenGrantRequest(server, client, oauth.None(), refreshToken, { [oauth.customFetch]: fetch, signal });
    return await oauth.processRefreshTokenResponse(server, client, response);
  } catch (error) {
    const failure = oauthFailure(error, spec.name);
    if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant') revokedGrants.add(failure);
    throw failure;
  }
}

/** Failures that mean the refresh token is dead (`invalid_grant`): the user must sign in again. */
export const revokedGrants = new WeakSet<object>();
