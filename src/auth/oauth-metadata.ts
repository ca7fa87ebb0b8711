/**
 * The authorization server of a credential: from discovery on its `issuer` (OpenID Connect
 * Discovery first, then RFC 8414), or built from the URLs the policy gives.
 * @see RFC 8414, OpenID Connect Discovery 1.0
 * @internal
 */
import * as oauth from 'oauth4webapi';
import { GatehouseFailure, isFailure } from '../errors.ts';
import type { CredentialSpec } from '../policy/compiled.ts';
import type { OAuthFetch } from './oauth-fetch.ts';
import { oauthFailure } from './oauth-errors.ts';

type OAuthSpec = Extract<CredentialSpec, { type: 'oauth2ClientCredentials' | 'oauth2AuthorizationCode' }>;

/** Metadata for a client credentials credential: just its token endpoint. */
export function clientCredentialsServer(spec: Extract<CredentialSpec, { type: 'oauth2ClientCredentials' }>): oauth.AuthorizationServer {
  return { issuer: spec.tokenUrl.origin, token_endpoint: spec.tokenUrl.href };
}

/**
 * Metadata for an authorization code credential. With `issuer`, tries
 * `/.well-known/openid-configuration`, then `/.well-known/oauth-authorization-server`; the
 * document's `issuer` must equal the policy's. Endpoints it names must be https.
 */
export async function authorizationServerFor(spec: OAuthSpec, fetch: OAuthFetch, signal: AbortSignal): Promise<oauth.AuthorizationServer> {
  if (spec.type === 'oauth2ClientCredentials') return clientCredentialsServer(spec);
  if (spec.issuer === undefined) {
    return { issuer: spec.authorizationUrl!.origin, authorization_endpoint: spec.authorizationUrl!.href, token_endpoint: spec.tokenUrl!.href };
  }
  const issuer = spec.issuer;
  let lastError: unknown;
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuer, { algorithm, [oauth.customFetch]: fetch, signal });
      const server = await oauth.processDiscoveryResponse(issuer, response);
      for (const endpoint of [server.authorization_endpoint, server.token_endpoint]) {
        if (endpoint === undefined || new URL(endpoint).protocol !== 'https:') {
          throw new GatehouseFailure('missing_credential', `authorization server of '${spec.name}' lacks an https authorization or token endpoint`);
        }
      }
      return server;
    } catch (error) {
      // Network and policy failures will not improve with the other document: stop at once.
      if (isFailure(error) || signal.aborted) throw oauthFailure(error, spec.name);
      lastError = error;
    }
  }
  throw oauthFailure(lastError, spec.name);
}
