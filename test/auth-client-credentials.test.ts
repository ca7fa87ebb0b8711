import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SERVICE_CLIENT, startOAuthServer, type OAuthServer } from './support/oauth-server.ts';
import { spyConnections } from './support/connect-spy.ts';
import { stubLookup } from './support/lookup.ts';
import { bearerToken } from '../src/auth/client-credentials.ts';
import { failureOf, startProviderFixture, type ProviderFixture } from './support/oauth-fixture.ts';

const LOOPBACK = ['127.0.0.0/8'];

function bearer(headers: Readonly<Record<string, string>>): string {
  const value = headers.authorization ?? '';
  assert.match(value, /^Bearer \S+$/);
  return value.slice('Bearer '.length);
}

describe('OAuth2 client credentials against a real oidc-provider (RFC 6749 §4.4)', () => {
  let oauthServer: OAuthServer;
  let fixture: ProviderFixture;
  const signal = new AbortController().signal;

  before(async () => {
    oauthServer = await startOAuthServer({ accessTokenTtl: 600 });
  });
  beforeEach(async () => {
    await fixture?.close();
    oauthServer.grants.clear();
    oauthServer.delayTokens(0);
    fixture = await startProviderFixture(
      {
        crm: { type: 'oauth2ClientCredentials', tokenUrl: `${oauthServer.issuer}/token`, scopes: ['read', 'write'], privateRanges: LOOPBACK },
        unlisted: { type: 'oauth2ClientCredentials', tokenUrl: `${oauthServer.issuer}/token` },
      },
      { crm: { ...SERVICE_CLIENT }, unlisted: { ...SERVICE_CLIENT } },
    );
  });
  after(async () => {
    await fixture.close();
    await oauthServer.close();
  });

  it('fetches a token the server accepts, with the scopes space-separated, and caches it', async () => {
    const started = performance.now();
    const first = await fixture.provider.apply(fixture.spec('crm'), { signal });
    const fetchMs = performance.now() - started;
    const token = bearer(first.headers);
    assert.deepEqual(first.secrets, [token, SERVICE_CLIENT.clientSecret]);
    assert.equal(await oauthServer.accepts(token), true);
    const stored = await oauthServer.provider.ClientCredentials.find(token);
    assert.equal(stored?.scope, 'read write');
    const cachedStart = performance.now();
    const second = await fixture.provider.apply(fixture.spec('crm'), { signal });
    const cachedMs = performance.now() - cachedStart;
    assert.equal(bearer(second.headers), token);
    assert.equal(oauthServer.grants.get('client_credentials'), 1);
    const fetched = fixture.events.filter((e) => e.outcome === 'fetched' && e.source === 'token_endpoint');
    assert.equal(fetched.length, 1);
    assert.equal(fetched[0]!.credential, 'crm');
    console.log(`# token fetch (first, new TLS connection): ${fetchMs.toFixed(1)} ms; cached: ${cachedMs.toFixed(3)} ms`);
  });

  it('renews shortly before expires_in and never sends a token past it', async () => {
    const token = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    fixture.clock.offset = 600_000 - 31_000; // 31 s left of 600: still used
    assert.equal(bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers), token);
    fixture.clock.offset = 600_000 - 29_000; // inside the 30 s margin: renewed
    const renewed = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    assert.notEqual(renewed, token);
    assert.equal(oauthServer.grants.get('client_credentials'), 2);
  });

  it('a token already past expires_in when it arrives is never sent: fetched once more, then refused', async () => {
    oauthServer.delayTokens(200);
    // The first answer arrives after its 600 s have passed (by the provider's clock); the second does not.
    const late = setTimeout(() => (fixture.clock.offset += 600_000), 100);
    const token = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    clearTimeout(late);
    assert.equal(oauthServer.grants.get('client_credentials'), 2);
    assert.equal(await oauthServer.accepts(token), true);
    // Every answer arrives expired: refused, after one more try.
    fixture.clock.offset += 600_000;
    const ticking = setInterval(() => (fixture.clock.offset += 600_000), 40);
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal })).finally(() => clearInterval(ticking));
    assert.equal(failure.kind, 'auth_required');
    assert.match(failure.message, /expired/);
    assert.equal(oauthServer.grants.get('client_credentials'), 4);
  });

  it('a token endpoint slower than tokenTimeoutMs ends the fetch as a timeout, not a missing credential', async () => {
    const quick = await startProviderFixture(
      { crm: { type: 'oauth2ClientCredentials', tokenUrl: `${oauthServer.issuer}/token`, privateRanges: LOOPBACK } },
      { crm: { ...SERVICE_CLIENT } },
      { tokenTimeoutMs: 300 },
    );
    try {
      oauthServer.delayTokens(2000);
      const started = performance.now();
      const failure = await failureOf(quick.provider.apply(quick.spec('crm'), { signal }));
      assert.deepEqual([failure.kind, failure.reason], ['timeout', 'deadline']);
      assert.ok(performance.now() - started < 1500, 'ended at the exchange deadline');
    } finally {
      await quick.close();
    }
  });

  it('a token endpoint whose name resolves to a refused address is blocked_by_policy/private_address, nothing dialed', async () => {
    const refused = await startProviderFixture(
      { crm: { type: 'oauth2ClientCredentials', tokenUrl: 'https://token.test/token' } },
      { crm: { ...SERVICE_CLIENT } },
      { lookup: stubLookup({ 'token.test': ['169.254.169.254'] }) },
    );
    const spy = spyConnections();
    try {
      const failure = await failureOf(refused.provider.apply(refused.spec('crm'), { signal }));
      assert.deepEqual([failure.kind, failure.reason], ['blocked_by_policy', 'private_address']);
      assert.equal(spy.count, 0);
    } finally {
      spy.dispose();
      await refused.close();
    }
  });

  it('refuses an access token a header cannot carry, and believes no lifetime beyond a year', () => {
    for (const token of ['AT-ł€😀', 'AT with space', 'AT\u00a0nbsp', 'AT\r\nX: 1']) {
      assert.throws(() => bearerToken('crm', { token_type: 'Bearer', access_token: token } as never, 0, 'f'), { reason: 'missing_credential' });
    }
    const forever = bearerToken('crm', { token_type: 'bearer', access_token: 'AT-ok', expires_in: 1e300 } as never, 0, 'f');
    assert.equal(forever.expiresAt, 365 * 24 * 3600 * 1000);
    assert.doesNotThrow(() => new Date(forever.expiresAt!).toISOString(), 'authStatus formats it');
  });

  it('shares one in-flight fetch among concurrent calls', async () => {
    oauthServer.delayTokens(150);
    const results = await Promise.all(Array.from({ length: 12 }, () => fixture.provider.apply(fixture.spec('crm'), { signal })));
    assert.equal(new Set(results.map((r) => bearer(r.headers))).size, 1);
    assert.equal(oauthServer.grants.get('client_credentials'), 1);
  });

  it('invalidate() after a 401 drops the token, and the next apply fetches a fresh one', async () => {
    const token = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    assert.equal(fixture.provider.invalidate(fixture.spec('crm')), true);
    const fresh = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    assert.notEqual(fresh, token);
    assert.equal(oauthServer.grants.get('client_credentials'), 2);
    assert.ok(fixture.events.some((e) => e.outcome === 'invalidated' && e.credential === 'crm'));
  });

  it('a rotated client secret is used by the next call, and a wrong one fails without leaking it', async () => {
    const original = bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers);
    const wrongSecret = 'rotated-but-wrong-secret-77';
    await fixture.secrets.set('crm', { clientId: SERVICE_CLIENT.clientId, clientSecret: wrongSecret });
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.equal(failure.kind, 'auth_required');
    assert.equal(failure.reason, 'missing_credential');
    assert.match(failure.message, /invalid_client/);
    assert.ok(!JSON.stringify({ ...failure, message: failure.message }).includes(wrongSecret));
    assert.ok(!JSON.stringify(fixture.events).includes(wrongSecret));
    // Back to the original pair: its still-valid token is used again, no new fetch.
    await fixture.secrets.set('crm', { ...SERVICE_CLIENT });
    assert.equal(bearer((await fixture.provider.apply(fixture.spec('crm'), { signal })).headers), original);
    assert.equal(oauthServer.grants.get('client_credentials'), 2);
  });

  it('a token endpoint that echoes the secret in its error leaks nothing', async () => {
    oauthServer.failTokens(1, 400, 'invalid_request', `bad secret ${SERVICE_CLIENT.clientSecret}`);
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.equal(failure.kind, 'auth_required');
    assert.ok(!failure.message.includes(SERVICE_CLIENT.clientSecret));
    assert.equal((failure as unknown as Error).cause, undefined);
    assert.ok(!JSON.stringify(fixture.events).includes(SERVICE_CLIENT.clientSecret));
    assert.ok(fixture.events.some((e) => e.outcome === 'failed' && e.credential === 'crm'));
    // An error code of the server's own choosing is not repeated either, only registered ones.
    oauthServer.failTokens(1, 400, 'svc_secret_3f9a1c7e5b');
    const custom = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.ok(!custom.message.includes('svc_secret') && /oauth_error/.test(custom.message), custom.message);
  });

  it('a token endpoint 503 is service_unavailable (retryable), not a credential problem', async () => {
    oauthServer.failTokens(1, 503, 'temporarily_unavailable');
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.equal(failure.kind, 'service_unavailable');
  });

  it('a token endpoint 429 is rate_limited, not a reason to sign in again', async () => {
    oauthServer.failTokens(1, 429, 'slow_down');
    const failure = await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }));
    assert.deepEqual([failure.kind, failure.reason], ['rate_limited', 'upstream_status']);
  });

  it('a missing or incomplete payload is auth_required/missing_credential', async () => {
    await fixture.secrets.delete('crm');
    assert.equal((await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }))).reason, 'missing_credential');
    await fixture.secrets.set('crm', { clientId: 'only-id' } as never);
    assert.equal((await failureOf(fixture.provider.apply(fixture.spec('crm'), { signal }))).reason, 'missing_credential');
    assert.equal(oauthServer.grants.get('client_credentials') ?? 0, 0);
  });

  it('the token endpoint obeys the address rules: loopback without privateRanges is never dialed', async () => {
    const before = oauthServer.server.connections;
    const spy = spyConnections();
    let failure;
    try {
      failure = await failureOf(fixture.provider.apply(fixture.spec('unlisted'), { signal }));
    } finally {
      spy.dispose();
    }
    assert.equal(failure.kind, 'blocked_by_policy');
    assert.equal(failure.reason, 'private_address');
    assert.equal(spy.count, 0, 'nothing was dialed');
    assert.equal(spy.sockets, 0, 'no socket was opened');
    assert.equal(oauthServer.server.connections, before);
  });

  it('a caller that aborts stops waiting, while the shared fetch completes for others', async () => {
    oauthServer.delayTokens(200);
    const controller = new AbortController();
    const patient = fixture.provider.apply(fixture.spec('crm'), { signal });
    const impatient = fixture.provider.apply(fixture.spec('crm'), { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(impatient);
    assert.match(bearer((await patient).headers), /\S/);
    assert.equal(oauthServer.grants.get('client_credentials'), 1);
  });
});
