import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { outcomeOf } from './support/envelope-assert.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

function weatherPolicy(port: number): object {
  return {
    version: 1,
    credentials: { 'weather-key': { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      weather: {
        baseUrl: `https://api.test:${port}/v1`,
        rationale: 'Forecast panel.',
        credential: 'weather-key',
        privateRanges: LOOPBACK_RANGES,
        operations: {
          getForecast: {
            method: 'GET',
            path: '/forecast/{city}',
            params: {
              type: 'object',
              properties: { city: { type: 'string', minLength: 1, maxLength: 64 }, days: { type: 'integer', minimum: 1, maximum: 14 } },
              required: ['city'],
              additionalProperties: false,
            },
            query: ['days'],
            response: { type: 'object', required: ['days'] },
            callers: ['renderer'],
          },
          saveFavourite: {
            method: 'POST',
            path: '/favourites',
            params: { type: 'object', properties: { body: { type: 'object' } }, required: ['body'] },
            body: 'body',
          },
        },
      },
    },
  };
}

describe('gateway.call (FR-02, TR-01)', () => {
  let fixture: GatewayFixture;
  const seen: Seen[] = [];

  before(async () => {
    fixture = await startGatewayFixture({
      policy: weatherPolicy,
      secrets: { 'weather-key': { key: 'k3y-very-secret' } },
      handler: (req, res) => {
        let body = '';
        req.on('data', (chunk) => (body += chunk));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ days: [1, 2, 3], echo: req.url }));
        });
      },
    });
  });
  after(() => fixture.close());

  it('runs a named operation and returns typed data with a correlation id', async () => {
    const result = await fixture.gateway.call('weather.getForecast', { city: 'Oslo', days: 3 }, { caller: 'renderer', correlationId: 'corr-1' });
    assert.equal(result.ok, true, outcomeOf(result));
    assert.ok(result.ok);
    assert.equal(result.status, 200);
    assert.deepEqual((result.data as { days: number[] }).days, [1, 2, 3]);
    assert.equal(result.correlationId, 'corr-1');
    const request = seen.at(-1)!;
    assert.equal(request.url, '/v1/forecast/Oslo?days=3');
    assert.equal(request.headers['x-api-key'], 'k3y-very-secret');
    assert.match(String(request.headers.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it('encodes a path param as exactly one segment', async () => {
    const result = await fixture.gateway.call('weather.getForecast', { city: '../../admin?x=1#y' });
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(seen.at(-1)!.url, '/v1/forecast/..%2F..%2Fadmin%3Fx%3D1%23y');
  });

  it('sends a param as the JSON body', async () => {
    const result = await fixture.gateway.call('weather.saveFavourite', { body: { city: 'Oslo' } });
    assert.equal(result.ok, true, outcomeOf(result));
    const request = seen.at(-1)!;
    assert.equal(request.method, 'POST');
    assert.equal(request.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request.body), { city: 'Oslo' });
  });

  it('reads params once, as JSON: a getter cannot show the request another value than the schema saw', async () => {
    let reads = 0;
    const shifty = {
      get city(): string {
        reads += 1;
        return reads === 1 ? 'Oslo' : 'x'.repeat(5000); // maxLength is 64
      },
    };
    const result = await fixture.gateway.call('weather.getForecast', shifty);
    assert.equal(result.ok, true, outcomeOf(result));
    assert.equal(seen.at(-1)!.url, '/v1/forecast/Oslo');
    assert.equal(reads, 1);
  });

  it('refuses params that cannot be read as JSON as invalid_input, never internal_error', async () => {
    const cyclic: Record<string, unknown> = { city: 'Oslo' };
    cyclic.self = cyclic;
    const unreadable: [string, unknown][] = [
      ['a throwing getter', Object.defineProperty({}, 'city', { enumerable: true, get: () => { throw new Error('no'); } })],
      ['a Proxy whose ownKeys trap throws', new Proxy({ city: 'Oslo' }, { ownKeys: () => { throw new Error('no'); } })],
      ['a BigInt', { city: 'Oslo', days: 3n }],
      ['a cycle', cyclic],
    ];
    const before = seen.length;
    for (const [name, params] of unreadable) {
      const result = await fixture.gateway.call('weather.getForecast', params);
      assert.equal(!result.ok && `${result.error.kind}/${result.error.reason}`, 'invalid_input/unsafe_value', `${name}: ${outcomeOf(result)}`);
    }
    assert.equal(seen.length, before, 'nothing was sent');
  });

  it('writes one audit event per call without values', async () => {
    const before = fixture.audit.length;
    await fixture.gateway.call('weather.getForecast', { city: 'Bergen', days: 2 }, { correlationId: 'corr-audit' });
    assert.equal(fixture.audit.length, before + 1);
    const event = fixture.audit.at(-1)!;
    assert.equal(event.correlationId, 'corr-audit');
    assert.equal(event.operation, 'weather.getForecast');
    assert.equal(event.pathTemplate, '/forecast/{city}');
    assert.equal(event.outcome, 'ok');
    assert.equal(event.status, 200);
    assert.equal(event.attempts, 1);
    assert.ok(!JSON.stringify(event).includes('Bergen'));
  });
});

describe('unusable credential values (FR-03)', () => {
  it('refuses a token a header cannot carry as auth_required/missing_credential, sending nothing', async () => {
    let requests = 0;
    const fixture = await startGatewayFixture({
      policy: (port) => ({
        version: 1,
        credentials: { token: { type: 'bearer' } },
        services: { api: { baseUrl: `https://api.test:${port}`, rationale: 'Test.', credential: 'token', privateRanges: LOOPBACK_RANGES, operations: { ping: { method: 'GET', path: '/ping' } } } },
      }),
      secrets: { token: { token: 'snow\u2603man-token' } },
      handler: (_req, res) => {
        requests += 1;
        res.end('{}');
      },
    });
    try {
      const connections = fixture.server.connections;
      const result = await fixture.gateway.call('api.ping');
      assert.equal(!result.ok && `${result.error.kind}/${result.error.reason}`, 'auth_required/missing_credential');
      assert.equal(requests, 0);
      assert.equal(fixture.server.connections, connections, 'no connection was opened');
    } finally {
      await fixture.close();
    }
  });
});
