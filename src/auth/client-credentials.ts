/**
 * OAuth 2.0 client credentials grant: a service's own access token, obtained with the client id
 * and secret from the secret store (sent with HTTP Basic authentication), scopes space-separated.
 * @see RFC 6749 §4.4, §2.3.1
 * @internal
 */
import { createHmac, randomBytes } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import { GatehouseFailure } from '../errors.ts';
import type { CredentialSpec } from '../policy/compiled.ts';
import type { OAuthFetch } from './oauth-fetch.ts';
import { oauthFailure } from './oauth-errors.ts';
import { clientCredentialsServer } from './oauth-metadata.ts';
import type { CredentialPayload } from './secret-store.ts';
import { tokenFrom, type CachedToken } from './token-cache.ts';

type ClientCredentialsSpec = Extract<CredentialSpec, { type: 'oauth2ClientCredentials' }>;

// A per-process key: fingerprints tell a rotated client secret apart without being a hash of it
// that could be tested against guesses.
const FINGERPRINT_KEY = randomBytes(32);

/** The client id and secret of a payload, or a `missing_credential` failure. */
export function clientCredentialsOf(spec: ClientCredentialsSpec, payload: CredentialPayload | undefined): { clientId: string; clientSecret: string } {
  const { clientId, clientSecret } = (payload ?? {}) as { clientId?: unknown; clientSecret?: unknown };
  if (typeof clientId !== 'string' || clientId === '' || typeof clientSecret !== 'string' || clientSecret === '') {
    throw new GatehouseFailure('missing_credential', `credential '${spec.name}' needs clientId and clientSecret in the secret store`);
  }
  return { clientId, clientSecret };
}

/** Identifies a client id + secret pair without revealing either. */
export function clientFingerprint(clientId: string, clientSecret: string): string {
  return createHmac('sha256', FINGERPRINT_KEY).update(clientId).update('\u0000').update(clientSecret).digest('base64url');
}

/** Requests a token from the credential's token endpoint. */
export async function fetchClientCredentialsToken(
  spec: ClientCredentialsSpec,
  client: { clientId: string; clientSecret: string },
  fetch: OAuthFetch,
  signal: AbortSignal,
  now: () => number,
): Promise<CachedToken> {
  const server = clientCredentialsServer(spec);
  const oauthClient: oauth.Client = { client_id: client.clientId };
  const parameters: Record<string, string> = {};
  if (spec.scopes.length > 0) parameters.scope = spec.scopes.join(' ');
  const requestedAt = now();
  try {
    const response = await oauth.clientCredentialsGrantRequest(server, oauthClient, oauth.ClientSecretBasic(client.clientSecret), parameters, {
      [oauth.customFetch]: fetch,
      signal,
    });
    const answer = await oauth.processClientCredentialsResponse(server, oauthClient, response);
    return bearerToken(spec.name, answer, requestedAt, clientFingerprint(client.clientId, client.clientSecret));
  } catch (error) {
    throw oauthFailure(error, spec.name);
  }
}

/** Checks a token response is a usable Bearer token and turns it into a cache entry. */
export function bearerToken(name: string, answer: oauth.TokenEndpointResponse, requestedAt: number, fingerprint: string): CachedToken {
  // A header carries Latin-1 only (RFC 9110 §5.5); controls and spaces would break or split it.
  // eslint-disable-next-line no-control-regex
  if (answer.token_type.toLowerCase() !== 'bearer' || /[\u0000-\u0020\u007f-\u00a0\u0100-\uffff]/.test(answer.access_token)) {
    throw new GatehouseFailure('missing_credential', `authorization server gave '${name}' an unusable token (type or characters)`);
  }
  return tokenFrom(answer.access_token, answer.expires_in, requestedAt, fingerprint);
}
