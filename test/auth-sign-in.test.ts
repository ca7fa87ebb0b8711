import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { createCredentialProvider } from '../src/auth/credential-provider.ts';
import { memorySecretStore } from '../src/auth/memory-store.ts';
import type { SecretStore } from '../src/auth/secret-store.ts';
import { loadPolicy } from '../src/policy/load.ts';
import { makeTestPki } from './support/certs.ts';
import { NATIVE_CLIENT_ID, browse, startOAuthServer, type OAuthServer } from './support/oauth-server.ts';
import { failureOf, startProviderFixture, type ProviderFixture } from './support/oauth-fixture.ts';
import { until } from './support/routes.ts';

const signal = new AbortController().signal;

function portRefuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
}

describe('sign-in with authorization code + PKCE against a real oidc-provider (RFC 8252, RFC 7636)', () => {
  let oauthServer: OAuthServer;
  let fixture: ProviderFixture;
  let caPem: string;

  before(async () => {
    oauthServer = await startOAuthServer({ accessTokenTtl: 300 });
    caPem = (await makeTestPki()).caPem;
  });
  beforeEach(async () => {
    await fixture?.close();
    oauthServer.grants.clear();
    oauthServer.delayTokens(0);
    oauthServer.failTokens(0, 400, 'invalid_grant');
    fixture = await startProviderFixture({
      crm: { type: 'oauth2AuthorizationCode', issuer: oauthServer.issuer, clientId: NATIVE_CLIENT_ID, scopes: ['openid', 'offline_access'], privateRanges: ['127.0.0.0/8'] },
      // Without offline_access the server issues no refresh token.
      online: { type: 'oauth2AuthorizationCode', issuer: oauthServer.issuer, clientId: NATIVE_CLIENT_ID, scopes: ['openid'], privateRanges: ['127.0.0.0/8'] },
    });
  });
  const signIn = (name = 'crm'): Promise<void> => fixture.provider.signIn(name, { openUrl: async (url) => void (await browse(url, caPem)) });
  const bearerOf = async (name = 'crm'): Promise<string> => (await fixture.provider.apply(fixture.spec(name), { signal })).headers.authorization!;
  after(async () => {
    await fixture.close();
    await oauthServer.close();
  });

  it('is signed out before sign-in, and a call then needs sign-in (auth_required)', async () => {
    assert.deepEqual(fixture.provider.authStatus('crm'), { signedIn: false });
    assert.deepEqual(fixture.provider.authStatus('nope'), { signedIn: false });
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.equal(failure.kind, 'auth_required');
    assert.equal(failure.reason, 'missing_credential');
  });

  it('signs in through the browser and a loopback redirect; stores the refresh token; the token works', async () => {
    let opened: URL | undefined;
    let listenerPort = 0;
    await fixture.provider.signIn('crm', {
      openUrl: async (url) => {
        opened = new URL(url);
        listenerPort = Number(new URL(opened.searchParams.get('redirect_uri')!).port);
        const landing = await browse(url, caPem);
        assert.equal(landing.status, 200);
      },
    });
    assert.ok(opened);
    const params = opened.searchParams;
    assert.equal(`${opened.origin}${opened.pathname}`.startsWith(oauthServer.issuer), true);
    assert.match(params.get('redirect_uri')!, /^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    assert.equal(params.get('code_challenge_method'), 'S256');
    assert.match(params.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Buffer.from(params.get('state')!, 'base64url').length >= 16, 'state has at least 128 bits');
    assert.equal(params.get('scope'), 'openid offline_access');
    assert.equal(await portRefuses(listenerPort), true, 'listener closed after sign-in');

    const stored = (await fixture.secrets.get('crm')) as { refreshToken?: string };
    assert.equal(typeof stored.refreshToken, 'string');
    assert.deepEqual(Object.keys(stored), ['refreshToken']);
    const status = fixture.provider.authStatus('crm');
    assert.equal(status.signedIn, true);
    assert.ok(Date.parse(status.expiresAt!) > Date.now());
    assert.ok(!JSON.stringify(status).includes(stored.refreshToken!));

    const applied = await fixture.provider.apply(fixture.spec('crm'), { signal });
    const token = applied.headers.authorization!.slice('Bearer '.length);
    assert.equal(await oauthServer.accepts(token), true);
    assert.equal(oauthServer.grants.get('authorization_code'), 1);
    assert.ok(fixture.events.some((e) => e.outcome === 'signed_in' && e.credential === 'crm'));

    // Transparent refresh once the access token nears expiry.
    fixture.clock.offset = 300_000;
    const refreshed = (await fixture.provider.apply(fixture.spec('crm'), { signal })).headers.authorization!.slice('Bearer '.length);
    assert.notEqual(refreshed, token);
    assert.equal(await oauthServer.accepts(refreshed), true);
    assert.equal(oauthServer.grants.get('refresh_token'), 1);
    assert.ok(fixture.events.some((e) => e.outcome === 'refreshed' && e.credential === 'crm'));
    assert.ok(!JSON.stringify(fixture.events).includes(stored.refreshToken!));
    assert.ok(!JSON.stringify(fixture.events).includes(token));

    await fixture.provider.signOut('crm');
    assert.deepEqual(fixture.provider.authStatus('crm'), { signedIn: false });
    assert.equal(await fixture.secrets.get('crm'), undefined);
    assert.equal((await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }))).kind, 'auth_required');
  });

  it('answers a redirect with a wrong state 400 and never exchanges its code', async () => {
    await fixture.provider.signIn('crm', {
      openUrl: async (url) => {
        const redirectUri = new URL(url).searchParams.get('redirect_uri')!;
        const forged = await fetch(`${redirectUri}?code=forged-code&state=wrong-state`);
        assert.equal(forged.status, 400);
        const missing = await fetch(`${redirectUri}?code=forged-code`);
        assert.equal(missing.status, 400);
        await browse(url, caPem);
      },
    });
    assert.equal(oauthServer.grants.get('authorization_code'), 1, 'only the real code was exchanged');
    assert.equal(fixture.provider.authStatus('crm').signedIn, true);
  });

  it('rejects on its deadline and on abort, and closes the listener', async () => {
    let port = 0;
    const openUrl = (url: string): void => {
      port = Number(new URL(new URL(url).searchParams.get('redirect_uri')!).port);
    };
    const late = await failureOf(fixture.provider.signIn('crm', { openUrl, timeoutMs: 150 }));
    assert.equal(late.kind, 'timeout');
    assert.equal(await portRefuses(port), true);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const aborted = await failureOf(fixture.provider.signIn('crm', { openUrl, signal: controller.signal }));
    assert.equal(aborted.kind, 'cancelled');
    assert.equal(await portRefuses(port), true);
    assert.equal(oauthServer.grants.get('authorization_code') ?? 0, 0);
  });

  it('a deadline that passes during the token exchange is a timeout, not a cancellation', async () => {
    oauthServer.delayTokens(3000);
    const failure = await failureOf(fixture.provider.signIn('crm', { openUrl: async (url) => void (await browse(url, caPem)), timeoutMs: 1500 }));
    assert.deepEqual([failure.kind, failure.reason], ['timeout', 'deadline']);
    assert.equal(fixture.provider.authStatus('crm').signedIn, false);
  });

  it('a refused sign-in (error in the redirect) rejects as auth_required', async () => {
    const failure = await failureOf(
      fixture.provider.signIn('crm', {
        openUrl: async (url) => {
          const params = new URL(url).searchParams;
          await fetch(`${params.get('redirect_uri')}?error=access_denied&state=${params.get('state')}&iss=${encodeURIComponent(oauthServer.issuer)}`);
        },
      }),
    );
    assert.equal(failure.kind, 'auth_required');
    assert.match(failure.message, /access_denied/);
  });

  it('a revoked refresh token (invalid_grant) signs the user out', async () => {
    await fixture.provider.signIn('crm', { openUrl: async (url) => void (await browse(url, caPem)) });
    fixture.clock.offset = 300_000;
    oauthServer.failTokens(1, 400, 'invalid_grant');
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.equal(failure.kind, 'auth_required');
    assert.deepEqual(fixture.provider.authStatus('crm'), { signedIn: false });
    assert.equal(await fixture.secrets.get('crm'), undefined);
  });

  it('refuses sign-in for a credential that is not oauth2AuthorizationCode', async () => {
    await assert.rejects(fixture.provider.signIn('nope', { openUrl: () => undefined }), /not an oauth2AuthorizationCode/);
    await assert.rejects(fixture.provider.signOut('nope'), /not an oauth2AuthorizationCode/);
  });

  it('sign-out during a refresh stays signed out: the refresh stores and caches nothing', async () => {
    await signIn();
    fixture.clock.offset = 300_000;
    oauthServer.delayTokens(300, 'refresh_token');
    const inFlight = failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    await until(() => oauthServer.grants.get('refresh_token') === 1);
    await fixture.provider.signOut('crm');
    assert.equal((await inFlight).kind, 'auth_required');
    assert.deepEqual(fixture.provider.authStatus('crm'), { signedIn: false });
    assert.equal(await fixture.secrets.get('crm'), undefined);
    assert.equal((await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }))).kind, 'auth_required');
    assert.equal(oauthServer.grants.get('refresh_token'), 1);
  });

  it('a sign-in completing during a refresh wins: the refresh of the previous grant is discarded', async () => {
    await signIn();
    const previous = (await fixture.secrets.get('crm')) as { refreshToken: string };
    fixture.clock.offset = 300_000;
    oauthServer.delayTokens(400, 'refresh_token');
    const background = failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    await until(() => oauthServer.grants.get('refresh_token') === 1);
    await signIn();
    const current = (await fixture.secrets.get('crm')) as { refreshToken: string };
    assert.notEqual(current.refreshToken, previous.refreshToken);
    const token = await bearerOf();
    assert.equal((await background).kind, 'auth_required');
    assert.deepEqual(await fixture.secrets.get('crm'), current);
    assert.equal(await bearerOf(), token);
    // The token sent belongs to the new sign-in's grant.
    const grantOf = (found: unknown): unknown => (found as { grantId?: string } | undefined)?.grantId;
    const access = grantOf(await oauthServer.provider.AccessToken.find(token.slice(7)));
    assert.ok(access !== undefined);
    assert.equal(access, grantOf(await oauthServer.provider.RefreshToken.find(current.refreshToken)));
    assert.equal(oauthServer.grants.get('refresh_token'), 1);
  });

  it('an invalid_grant from a refresh older than a new sign-in leaves the new refresh token alone', async () => {
    await signIn();
    fixture.clock.offset = 300_000;
    oauthServer.delayTokens(400, 'refresh_token');
    oauthServer.failTokens(1, 400, 'invalid_grant');
    const old = failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    await until(() => oauthServer.grants.get('refresh_token') === 1);
    await signIn();
    const current = (await fixture.secrets.get('crm')) as { refreshToken?: string } | undefined;
    assert.equal(typeof current?.refreshToken, 'string');
    assert.equal((await old).kind, 'auth_required');
    assert.deepEqual(await fixture.secrets.get('crm'), current);
    assert.equal(fixture.provider.authStatus('crm').signedIn, true);
    fixture.clock.offset = 600_000;
    assert.equal(await oauthServer.accepts((await bearerOf()).slice(7)), true);
  });

  it('a sign-in without a refresh token replaces the stored one: the previous grant is never used again', async () => {
    await signIn();
    await fixture.secrets.set('online', (await fixture.secrets.get('crm'))!); // a real grant of a previous user
    await signIn('online');
    assert.equal(await fixture.secrets.get('online'), undefined);
    assert.equal(fixture.provider.authStatus('online').signedIn, true);
    assert.equal(await oauthServer.accepts((await bearerOf('online')).slice(7)), true);
    fixture.clock.offset = 300_000;
    assert.equal((await failureOf(fixture.provider.apply(fixture.spec('online'), { signal }))).kind, 'auth_required');
    assert.deepEqual(fixture.provider.authStatus('online'), { signedIn: false });
    assert.equal(oauthServer.grants.get('refresh_token') ?? 0, 0);
  });

  it('a sign-out right after startup is not undone by the startup read of the store', async () => {
    const stored = memorySecretStore({ crm: { refreshToken: 'left-by-an-earlier-run' } });
    // Reads at once, answers late: the sign-out happens while the startup read is on its way.
    const slow: SecretStore = {
      ...stored,
      async get(name) {
        const value = await stored.get(name);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return value;
      },
    };
    const policy = await loadPolicy({ version: 1, credentials: { crm: { type: 'oauth2AuthorizationCode', issuer: oauthServer.issuer, clientId: NATIVE_CLIENT_ID } }, services: {} });
    const provider = createCredentialProvider({ policy, secrets: slow });
    await provider.signOut('crm');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(provider.authStatus('crm'), { signedIn: false });
    assert.equal(await stored.get('crm'), undefined);
    await provider.close();
  });
});
