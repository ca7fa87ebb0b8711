/**
 * Credentials through the whole gateway: a real oidc-provider and a real API server on loopback.
 * Needs the gateway to pass its network settings to the credential provider.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import fc from 'fast-check';
import { createGateway, memorySecretStore, type AuditEvent, type Gateway, type SecretStore } from '../src/index.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { stubLookup } from './support/lookup.ts';
import { outcomeOf } from './support/envelope-assert.ts';
import { NATIVE_CLIENT_ID, SERVICE_CLIENT, browse, startOAuthServer, type OAuthServer } from './support/oauth-server.ts';
import { startHttpsServer, type TestServer } from './support/servers.ts';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

const CHANNELS = ['gatehouse:credential', 'gatehouse:secret-store', 'gatehouse:call:end', 'gatehouse:policy:denied', 'gatehouse:error'];

describe('credentials through the gateway (FR-03, DESIGN.md §4.5)', () => {
  let oauthServer: OAuthServer;
  let api: TestServer;
  let gateway: Gateway;
  let secrets: SecretStore;
  let caPem: string;
  const audit: AuditEvent[] = [];
  const seenKeys: string[] = [];
  let rejectNext = 0;

  before(async () => {
    const pki = await makeTestPki();
    caPem = pki.caPem;
    oauthServer = await startOAuthServer();
    api = await startHttpsServer((req, res) => {
      const path = new URL(req.url ?? '/', 'https://api.test').pathname;
      if (path.startsWith('/key/')) {
        seenKeys.push(String(req.headers['x-api-key']));
        res.setHeader('content-type', 'application/json');
        if (path === '/key/echo') return res.end(JSON.stringify({ got: req.headers['x-api-key'] }));
        if (path === '/key/fail') return ((res.statusCode = 500), res.end('{}'));
        return res.end('{"ok":true}');
      }
      const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      void oauthServer.accepts(token).then((ok) => {
        if (!ok || rejectNext > 0) {
          rejectNext = Math.max(0, rejectNext - 1);
          res.statusCode = 401;
          return res.end();
        }
        res.setHeader('content-type', 'application/json');
        // A service that knows (or was handed) the OAuth client's secret, or the user's refresh token, and shows it.
        if (path === '/me/leak-refresh-token') {
          void secrets.get('user').then((stored) => res.end(JSON.stringify({ grant: (stored as { refreshToken?: string } | undefined)?.refreshToken })));
          return;
        }
        res.end(path === '/crm/leak-client-secret' ? JSON.stringify({ secret: SERVICE_CLIENT.clientSecret }) : '{"ok":true}');
      });
    }, await pki.issue(LOOPBACK_NAMES));
    secrets = memorySecretStore({ crm: { ...SERVICE_CLIENT }, 'weather-key': { key: 'first-key' } });
    const requests = [{ methods: ['GET'], path: '/**' }];
    gateway = await createGateway({
      policy: {
        version: 1,
        credentials: {
          crm: { type: 'oauth2ClientCredentials', tokenUrl: `${oauthServer.issuer}/token`, scopes: ['read'], privateRanges: LOOPBACK },
          'weather-key': { type: 'apiKey', header: 'X-Api-Key' },
          user: { type: 'oauth2AuthorizationCode', issuer: oauthServer.issuer, clientId: NATIVE_CLIENT_ID, scopes: ['openid', 'offline_access'], privateRanges: LOOPBACK },
        },
        services: {
          crm: { baseUrl: `https://api.test:${api.port}/crm`, rationale: 'Test.', credential: 'crm', privateRanges: LOOPBACK, requests },
          weather: { baseUrl: `https://api.test:${api.port}/key`, rationale: 'Test.', credential: 'weather-key', privateRanges: LOOPBACK, requests },
          me: { baseUrl: `https://api.test:${api.port}/me`, rationale: 'Test.', credential: 'user', privateRanges: LOOPBACK, requests },
        },
      },
      secrets,
      audit: { sink: (event) => audit.push(event) },
      network: { lookup: stubLookup({ 'api.test': ['127.0.0.1'] }), ca: [caPem], proxy: 'none' },
    });
  });
  after(async () => {
    await gateway.close();
    await api.close();
    await oauthServer.close();
  });

  it('a client credentials service gets a token from the real server; a 401 is retried once with a fresh token', async () => {
    oauthServer.grants.clear();
    const ok = await gateway.request('crm', { path: '/x' });
    assert.equal(ok.ok, true, outcomeOf(ok));
    assert.equal(oauthServer.grants.get('client_credentials'), 1);
    rejectNext = 1;
    const retried = await gateway.request('crm', { path: '/x' });
    assert.equal(retried.ok, true, outcomeOf(retried));
    assert.equal(audit.at(-1)!.attempts, 2);
    assert.equal(oauthServer.grants.get('client_credentials'), 2);
    rejectNext = 5;
    const persistent = await gateway.request('crm', { path: '/x' });
    assert.equal(!persistent.ok && persistent.error.kind, 'auth_required');
    rejectNext = 0;
  });

  it('audits credential use by name and how it was obtained, never a value (issue 3 item 6)', async () => {
    oauthServer.grants.clear();
    await gateway.request('crm', { path: '/x' });
    const cached = audit.at(-1)!;
    assert.deepEqual(cached.credential, { name: 'crm', use: 'cached' });
    rejectNext = 1;
    await gateway.request('crm', { path: '/x' });
    assert.deepEqual(audit.at(-1)!.credential, { name: 'crm', use: 'fetched' });
    rejectNext = 0;
    await gateway.request('weather', { path: '/a' });
    assert.deepEqual(audit.at(-1)!.credential, { name: 'weather-key', use: 'fetched' });
    await gateway.request('me', { path: '/' });
    assert.deepEqual(audit.at(-1)!.credential, { name: 'user', use: 'failed' });
  });

  it('rotation: a new value in the store is used by the next call, no restart', async () => {
    await gateway.request('weather', { path: '/a' });
    await secrets.set('weather-key', { key: 'second-key' });
    await gateway.request('weather', { path: '/a' });
    assert.deepEqual(seenKeys.slice(-2), ['first-key', 'second-key']);
  });

  it('sign-in, signed-in calls, status and sign-out through the gateway', async () => {
    assert.deepEqual(gateway.authStatus('user'), { signedIn: false });
    const before = await gateway.request('me', { path: '/' });
    assert.equal(!before.ok && before.error.kind, 'auth_required');
    await gateway.signIn('user', { openUrl: async (url) => void (await browse(url, caPem)) });
    assert.equal(gateway.authStatus('user').signedIn, true);
    const signedIn = await gateway.request('me', { path: '/' });
    assert.equal(signedIn.ok, true, outcomeOf(signedIn));
    const leaked = await gateway.request('me', { path: '/leak-refresh-token' });
    assert.equal(!leaked.ok && leaked.error.reason, 'secret_reflected', 'the refresh token is a secret of the credential too');
    await gateway.signOut('user');
    assert.deepEqual(gateway.authStatus('user'), { signedIn: false });
    const after = await gateway.request('me', { path: '/' });
    assert.equal(!after.ok && after.error.kind, 'auth_required');
  });

  it("refuses a service answer that carries the OAuth client's secret, though only the token endpoint was sent it (SR-04)", async () => {
    const result = await gateway.request('crm', { path: '/leak-client-secret' });
    assert.equal(!result.ok && `${result.error.kind}/${result.error.reason}`, 'invalid_response/secret_reflected');
    assert.ok(!JSON.stringify(result).includes(SERVICE_CLIENT.clientSecret));
  });

  it('property: no secret ever appears in results, errors, audit events, diagnostics events or warnings', async () => {
    const secretArb = fc.stringMatching(/^[A-Za-z0-9._~+/-]{16,40}$/);
    const scenario = fc.constantFrom('ok', 'echo', 'fail', 'client-secret');
    await fc.assert(
      fc.asyncProperty(secretArb, scenario, async (secret, kind) => {
        const seen: unknown[] = [];
        const listener = (message: unknown): void => void seen.push(message);
        for (const name of CHANNELS) subscribe(name, listener);
        // Library code never prints (lint: no-console); process warnings are the one other outlet.
        const warnings: string[] = [];
        const onWarning = (warning: Error): void => void warnings.push(`${warning.name}: ${warning.message}`);
        process.on('warning', onWarning);
        const auditFrom = audit.length;
        let result;
        try {
          if (kind === 'client-secret') {
            await secrets.set('crm', { clientId: SERVICE_CLIENT.clientId, clientSecret: secret });
            result = await gateway.request('crm', { path: '/x' });
          } else {
            await secrets.set('weather-key', { key: secret });
            result = await gateway.request('weather', { path: `/${kind}` });
          }
        } finally {
          process.off('warning', onWarning);
          for (const name of CHANNELS) unsubscribe(name, listener);
          await secrets.set('crm', { ...SERVICE_CLIENT });
        }
        if (kind === 'echo') assert.equal(!result.ok && result.error.reason, 'secret_reflected');
        if (kind === 'client-secret') assert.equal(!result.ok && result.error.kind, 'auth_required');
        const visible = JSON.stringify([result, audit.slice(auditFrom), seen, warnings], (_k, v: unknown) =>
          v instanceof Error ? { message: v.message, cause: String(v.cause), stack: v.stack } : v,
        );
        assert.ok(!visible.includes(secret), `secret leaked in scenario ${kind}`);
      }),
      { numRuns: 40 },
    );
  });
});
