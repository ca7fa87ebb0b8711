/**
 * A real OAuth 2.0 / OpenID Connect server (oidc-provider 9) on a loopback HTTPS port, with a
 * scripted "user" who logs in and consents at once, and a browser stand-in that follows the
 * redirects with cookies the way a browser does, ending at the app's loopback redirect URI.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider from 'oidc-provider';
import { Agent, fetch } from 'undici';
import { LOOPBACK_NAMES, makeTestPki } from './certs.ts';
import { startHttpsServer, type TestServer } from './servers.ts';

/** Client credentials the server knows. */
export const SERVICE_CLIENT = { clientId: 'svc-client', clientSecret: 'svc-secret-3f9a1c7e5b' } as const;
/** The public native client used for sign-in. */
export const NATIVE_CLIENT_ID = 'desktop-app';

/** A running OAuth server. */
export interface OAuthServer {
  /** `https://127.0.0.1:PORT`. */
  readonly issuer: string;
  readonly provider: Provider;
  readonly server: TestServer;
  /** Requests seen, by path (`/token`, `/.well-known/openid-configuration`, ...). */
  readonly hits: Map<string, number>;
  /** Token endpoint requests by grant type. */
  readonly grants: Map<string, number>;
  /** Answers the next `n` token requests with this status and OAuth error (tests of failures). */
  failTokens(n: number, status: number, error: string, description?: string): void;
  /** Delays every token response by `ms`, or only those of one grant type (single-flight and race tests). */
  delayTokens(ms: number, grantType?: string): void;
  /** Whether `token` is an access token this server issued and still accepts. */
  accepts(token: string): Promise<boolean>;
  close(): Promise<void>;
}

/** Options of {@link startOAuthServer}. */
export interface OAuthServerOptions {
  /** Lifetime of access tokens, in seconds. @default 3600 */
  accessTokenTtl?: number;
}

/** Starts oidc-provider on 127.0.0.1 over HTTPS with the test CA's certificate. */
export async function startOAuthServer(options: OAuthServerOptions = {}): Promise<OAuthServer> {
  const pki = await makeTestPki();
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = await startHttpsServer((req, res) => handler(req, res), await pki.issue(LOOPBACK_NAMES));
  const issuer = server.origin;
  const ttl = options.accessTokenTtl ?? 3600;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const provider = new Provider(issuer, {
    clients: [
      { client_id: SERVICE_CLIENT.clientId, client_secret: SERVICE_CLIENT.clientSecret, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'read write', id_token_signed_response_alg: 'ES256' },
      {
        client_id: NATIVE_CLIENT_ID,
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256' }] },
    features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
    scopes: ['openid', 'offline_access', 'read', 'write'],
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: ttl, ClientCredentials: ttl, RefreshToken: 86_400, Interaction: 600, Session: 3600, Grant: 86_400 },
    findAccount: (_ctx: unknown, id: string) => ({ accountId: id, claims: () => ({ sub: id }) }),
    cookies: { keys: ['gatehouse-test-cookie-key'] },
  });
  const callback = provider.callback();
  const hits = new Map<string, number>();
  const grants = new Map<string, number>();
  let failures: { n: number; status: number; body: string } = { n: 0, status: 0, body: '' };
  let delay = { ms: 0, grantType: undefined as string | undefined };

  handler = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path.startsWith('/interaction/')) {
      void interact(provider, req, res).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
      return;
    }
    if (path === '/token') {
      void readGrantType(req).then(async (grant) => {
        grants.set(grant, (grants.get(grant) ?? 0) + 1);
        // Which requests fail is decided in arrival order, whatever their delay.
        const failure = failures.n > 0 ? { ...failures } : undefined;
        if (failure !== undefined) failures.n -= 1;
        if (delay.ms > 0 && (delay.grantType ?? grant) === grant) await new Promise((resolve) => setTimeout(resolve, delay.ms));
        if (failure !== undefined) {
          res.writeHead(failure.status, { 'content-type': 'application/json' });
          res.end(failure.body);
          return;
        }
        callback(req, res);
      });
      return;
    }
    callback(req, res);
  };

  return {
    issuer,
    provider,
    server,
    hits,
    grants,
    failTokens(n, status, error, description) {
      failures = { n, status, body: JSON.stringify({ error, ...(description === undefined ? {} : { error_description: description }) }) };
    },
    delayTokens(ms, grantType) {
      delay = { ms, grantType };
    },
    async accepts(token) {
      const found = (await provider.ClientCredentials.find(token)) ?? (await provider.AccessToken.find(token));
      return found !== undefined;
    },
    close: () => server.close(),
  };
}

/** Buffers the body (so oidc-provider can still read it) and returns its grant_type. */
function readGrantType(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      // oidc-provider parses the body itself: hand it the bytes again.
      (req as IncomingMessage & { body?: unknown }).body = Object.fromEntries(new URLSearchParams(body.toString()));
      resolve(new URLSearchParams(body.toString()).get('grant_type') ?? '');
    });
  });
}

/** The scripted user: logs in as `user-1`, then grants every requested scope. */
async function interact(provider: Provider, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: 'user-1' } }, { mergeWithLastSubmission: false });
    return;
  }
  const grant = new provider.Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  const missing = (details.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
  if (missing.length > 0) grant.addOIDCScope(missing.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/**
 * Acts as the system browser: opens `url`, follows redirects carrying cookies, and stops at the
 * app's loopback redirect (which it requests, as a browser would). Returns that answer's status.
 */
export async function browse(url: string, caPem: string): Promise<{ status: number; finalUrl: string }> {
  const agent = new Agent({ connect: { ca: caPem } });
  const cookies = new Map<string, string>();
  try {
    let next = new URL(url);
    for (let hop = 0; hop < 20; hop++) {
      const response = await fetch(next, {
        redirect: 'manual',
        headers: { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
        dispatcher: agent,
      });
      for (const line of response.headers.getSetCookie()) {
        const [pair] = line.split(';');
        const eq = pair!.indexOf('=');
        cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
      }
      await response.arrayBuffer();
      const location = response.headers.get('location');
      if (next.protocol === 'http:' || location === null) return { status: response.status, finalUrl: next.href };
      next = new URL(location, next);
    }
    throw new Error('too many redirects in the sign-in');
  } finally {
    await agent.close();
  }
}
