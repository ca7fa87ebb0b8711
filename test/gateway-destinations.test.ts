// Where a call may go (DESIGN.md §4.1, §5 "Hosts and ports", "Private ranges", "Paths", "Callers").
// LOOPBACK ONLY: refused addresses come from the stub lookup or from IP literals that Gatehouse must
// refuse before dialing; every test of a block asserts with a connect spy that nothing was dialed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createGateway, PolicyError, type CallResult, type GatewayError } from '../src/index.ts';
import { compilePolicy } from '../src/policy/compile.ts';
import { buildOperationRequest } from '../src/gateway/build-operation-request.ts';
import { isFailure } from '../src/errors.ts';
import { spyConnections, type ConnectSpy } from './support/connect-spy.ts';
import { LOOPBACK_RANGES, startGatewayFixture, type GatewayFixture } from './support/gateway-fixture.ts';
import { stubLookup } from './support/lookup.ts';
import { startHttpServer } from './support/servers.ts';

/** The error of a failed call, with the whole result in the message when it did not fail. */
function failed(result: CallResult): GatewayError {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  assert.ok(!result.ok);
  return result.error;
}

/** Runs `body` with a connect spy and returns what it saw; the spy is always disposed. */
async function spied<T>(body: () => Promise<T>): Promise<{ value: T; spy: ConnectSpy }> {
  const spy = spyConnections();
  try {
    return { value: await body(), spy };
  } finally {
    spy.dispose();
  }
}

/** A refused call: kind, reason, not retryable, and nothing dialed. */
function assertRefusedUndialed(result: CallResult, spy: ConnectSpy, kind: string, reason: string): GatewayError {
  const error = failed(result);
  assert.equal(error.kind, kind, JSON.stringify(error));
  assert.equal(error.reason, reason, JSON.stringify(error));
  assert.equal(error.retryable, false);
  assert.equal(spy.count, 0, `dialed ${JSON.stringify(spy.attempts)}`);
  return error;
}

/** Fixed so runs are deterministic; set FC_SEED to explore other values. */
const FC_SEED = Number(process.env.FC_SEED ?? 0x6a7e);

const GET_OPERATION = { method: 'GET', path: '/ping', params: { type: 'object' } };

/** DNS answers that must be refused, each with a short service-id-safe label. */
const REFUSED_ANSWERS: ReadonlyArray<readonly [string, string]> = [
  ['private10', '10.0.0.1'],
  ['private172', '172.16.0.1'],
  ['private192', '192.168.1.1'],
  ['loopbackWithoutRanges', '127.0.0.1'],
  ['metadata', '169.254.169.254'],
  ['cgnat', '100.64.0.1'],
  ['loopback6', '::1'],
  ['linkLocal6', 'fe80::1'],
  ['uniqueLocal6', 'fc00::1'],
  ['mapped', '::ffff:10.0.0.1'],
  ['compatible', '::7f00:1'],
  ['nat64', '64:ff9b::a00:1'],
  ['sixToFour', '2002:a00:1::1'],
  ['azureWireServer', '168.63.129.16'],
  ['unspecified', '0.0.0.0'],
  ['unspecified6', '::'],
  ['mappedLoopback', '::ffff:127.0.0.1'],
  ['awsMetadata6', 'fd00:ec2::254'],
];

const LITERAL_BASE_URLS: ReadonlyArray<readonly [string, string]> = [
  ['literal10', 'https://10.0.0.1/'],
  ['literalMapped', 'https://[::ffff:a00:1]/'],
  ['literalMetadata', 'https://169.254.169.254/'],
  ['literalOctalMetadata', 'https://0251.0376.0251.0376/'],
  ['literalHexLoopback', 'https://0x7f.1/'],
  ['literalUnspecified', 'https://0.0.0.0/'],
  ['literalMappedMetadata', 'https://[::ffff:169.254.169.254]/'],
];

const PATH_PARAMS = {
  type: 'object',
  properties: { id: {}, q: {} },
  required: ['id'],
  additionalProperties: false,
};

function destinationsPolicy(port: number): object {
  const services: Record<string, object> = {
    home: {
      baseUrl: `https://api.test:${port}/v1`,
      rationale: 'The service the fixture server plays.',
      credential: 'home-key',
      privateRanges: LOOPBACK_RANGES,
      operations: {
        ping: GET_OPERATION,
        forecast: {
          method: 'GET',
          path: '/forecast/{city}',
          params: {
            type: 'object',
            properties: { city: { type: 'string', minLength: 1, maxLength: 64 }, days: { type: 'integer', minimum: 1 } },
            required: ['city'],
            additionalProperties: false,
          },
          query: ['days'],
          callers: ['renderer'],
        },
        item: { method: 'GET', path: '/items/{id}', params: PATH_PARAMS, query: ['q'] },
      },
    },
    literalLoopback: {
      baseUrl: `https://127.0.0.1:${port}/v1`,
      rationale: 'An IP-literal loopback base URL allowed by privateRanges.',
      privateRanges: LOOPBACK_RANGES,
      operations: { ping: GET_OPERATION },
    },
    mixed: {
      baseUrl: `https://mixed.test:${port}/`,
      rationale: 'Resolves to one allowed and one refused address.',
      privateRanges: LOOPBACK_RANGES,
      operations: { ping: GET_OPERATION },
    },
    ghost: {
      baseUrl: `https://ghost.test:${port}/`,
      rationale: 'A name the stub resolver does not know.',
      privateRanges: LOOPBACK_RANGES,
      operations: { ping: GET_OPERATION },
    },
  };
  for (const [label] of REFUSED_ANSWERS) {
    services[label] = {
      baseUrl: `https://${label.toLowerCase()}.test:${port}/`,
      rationale: 'Resolves to a refused address; no privateRanges.',
      operations: { ping: GET_OPERATION },
    };
  }
  for (const [label, baseUrl] of LITERAL_BASE_URLS) {
    services[label] = { baseUrl, rationale: 'An IP literal that must be refused before dialing.', operations: { ping: GET_OPERATION } };
  }
  return {
    version: 1,
    credentials: { 'home-key': { type: 'apiKey', header: 'X-Api-Key' } },
    services,
  };
}

const DNS: Record<string, readonly string[]> = {
  'mixed.test': ['127.0.0.1', '10.0.0.1'],
  ...Object.fromEntries(REFUSED_ANSWERS.map(([label, address]) => [`${label.toLowerCase()}.test`, [address]])),
};

describe('gateway destinations (FR-01, FR-04, SR-03)', () => {
  let fixture: GatewayFixture;
  const seenUrls: string[] = [];

  before(async () => {
    fixture = await startGatewayFixture({
      policy: destinationsPolicy,
      secrets: { 'home-key': { key: 'home-secret-value' } },
      dns: DNS,
      handler: (req, res) => {
        seenUrls.push(req.url ?? '');
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ ok: true }));
      },
    });
  });
  after(() => fixture.close());

  describe('DNS answers in refused classes are refused before dialing (FR-04, SR-03, DESIGN §4.1)', () => {
    for (const [label, address] of REFUSED_ANSWERS) {
      it(`refuses a name that resolves to ${address}`, async () => {
        const { value: result, spy } = await spied(() => fixture.gateway.call(`${label}.ping`));
        const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
        assert.ok(fixture.lookupCalls.includes(`${label.toLowerCase()}.test`), 'the name was resolved by the stub');
        assert.ok(!error.message.includes(address));
      });
    }

    it('privateRanges of one service do not open the same address to another service', async () => {
      const allowed = await fixture.gateway.call('home.ping');
      assert.equal(allowed.ok, true, JSON.stringify(allowed));
      const { value: result, spy } = await spied(() => fixture.gateway.call('loopbackWithoutRanges.ping'));
      assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
    });

    it('mixed DNS answer is refused whole, even when one address is allowed by privateRanges', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call('mixed.ping'));
      assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
    });
  });

  describe('IP-literal base URLs are refused before dialing (FR-04, DESIGN §4.1)', () => {
    for (const [label, baseUrl] of LITERAL_BASE_URLS) {
      it(`refuses the IP-literal baseUrl ${baseUrl} without a socket`, async () => {
        const lookupsBefore = fixture.lookupCalls.length;
        const { value: result, spy } = await spied(() => fixture.gateway.call(`${label}.ping`));
        assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
        assert.equal(spy.sockets, 0, 'no socket was even created');
        assert.equal(fixture.lookupCalls.length, lookupsBefore, 'an IP literal is never handed to the resolver');
      });
    }
  });

  describe('IP-literal base URLs inside privateRanges are dialed (FR-04, DESIGN §5 "Private ranges")', () => {
    it('calls an IP-literal loopback baseUrl allowed by privateRanges without a DNS lookup', async () => {
      const lookupsBefore = fixture.lookupCalls.length;
      const result = await fixture.gateway.call('literalLoopback.ping');
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(seenUrls.at(-1), '/v1/ping');
      assert.equal(fixture.lookupCalls.length, lookupsBefore);
    });
  });

  describe('refusal envelope and audit (FR-06, UXR-01, DESIGN §2, §5 "Retryable", "Audit timing")', () => {
    it('a policy block is not retryable', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call('private10.ping'));
      const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
      assert.equal(error.retryable, false);
      assert.equal(error.retryAfterMs, undefined);
    });

    it('the error message names no URL, host, port or address', async () => {
      for (const [operation, forbidden] of [
        ['metadata.ping', ['169.254', 'metadata.test']],
        ['literal10.ping', ['10.0.0.1']],
        ['literalMapped.ping', ['::ffff', 'a00:1']],
        ['mixed.ping', ['10.0.0.1', 'mixed.test']],
      ] as const) {
        const { value: result, spy } = await spied(() => fixture.gateway.call(operation));
        const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
        for (const text of [...forbidden, 'https://', 'http://', String(fixture.server.port)]) {
          assert.ok(!error.message.includes(text), `message of ${operation} contains ${text}: ${error.message}`);
        }
        assert.ok(error.message.length > 0);
      }
    });

    it('writes an audit event for a refused call with outcome blocked_by_policy and the reason', async () => {
      const before = fixture.audit.length;
      const { value: result, spy } = await spied(() => fixture.gateway.call('metadata.ping', {}, { correlationId: 'corr-blocked' }));
      assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
      assert.equal(fixture.audit.length, before + 1);
      const event = fixture.audit.at(-1)!;
      assert.equal(event.correlationId, 'corr-blocked');
      assert.equal(event.attempts, 1, 'a policy block is not retried');
      assert.equal(event.operation, 'metadata.ping');
      assert.equal(event.service, 'metadata');
      assert.equal(event.outcome, 'blocked_by_policy');
      assert.equal(event.reason, 'private_address');
      assert.equal(event.status, undefined);
      assert.equal(event.bytesIn, 0);
      assert.equal(event.redirects, 0);
      assert.ok(!JSON.stringify(event).includes('169.254.169.254'));
    });
  });

  describe('name resolution failures (FR-06, DESIGN §2)', () => {
    it('a name the resolver does not know is dns_error and dials nothing', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call('ghost.ping'));
      const error = failed(result);
      assert.equal(error.kind, 'dns_error', JSON.stringify(error));
      assert.equal(error.retryable, false);
      assert.equal(spy.count, 0);
      assert.ok(fixture.lookupCalls.includes('ghost.test'));
      assert.ok(!error.message.includes('ghost'));
    });
  });

  describe('operations and callers (SR-01, SR-02, DESIGN §5 "Callers")', () => {
    for (const operation of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'home.__proto__', 'home.constructor', 'weather.__proto__', 'home', 'home.', '.ping', 'nope.ping', 'home.ping.x']) {
      it(`refuses the unknown operation ${JSON.stringify(operation)} without a lookup or a connection`, async () => {
        const lookupsBefore = fixture.lookupCalls.length;
        const { value: result, spy } = await spied(() => fixture.gateway.call(operation));
        const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'unknown_operation');
        assert.equal(spy.sockets, 0);
        assert.equal(fixture.lookupCalls.length, lookupsBefore);
        assert.equal(error.operation, operation);
      });
    }

    it('refuses a non-string operation id as unknown_operation', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call(42 as unknown as string));
      const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'unknown_operation');
      assert.equal(error.operation, '42');
    });

    it('refuses a caller role the operation does not list as caller_not_allowed', async () => {
      const lookupsBefore = fixture.lookupCalls.length;
      for (const caller of ['renderer', 'sidecar', '__proto__', 'Main', '']) {
        const { value: result, spy } = await spied(() => fixture.gateway.call('home.ping', {}, { caller }));
        assertRefusedUndialed(result, spy, 'blocked_by_policy', 'caller_not_allowed');
        assert.equal(spy.sockets, 0);
      }
      assert.equal(fixture.lookupCalls.length, lookupsBefore);
    });

    it('lets a listed caller role run the operation', async () => {
      const result = await fixture.gateway.call('home.forecast', { city: 'Oslo' }, { caller: 'renderer' });
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.equal(seenUrls.at(-1), '/v1/forecast/Oslo');
    });

    it('audits a refused caller with caller_not_allowed', async () => {
      await fixture.gateway.call('home.ping', {}, { caller: 'renderer', correlationId: 'corr-caller' });
      const event = fixture.audit.at(-1)!;
      assert.equal(event.correlationId, 'corr-caller');
      assert.equal(event.caller, 'renderer');
      assert.equal(event.outcome, 'blocked_by_policy');
      assert.equal(event.reason, 'caller_not_allowed');
    });

    it('echoes the requested operation id without control characters', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call('home.\u0000pi\r\nng\u001b[31m\u007f\u0085\u2028'));
      const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'unknown_operation');
      assert.equal(error.operation, 'home.ping[31m');
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(error.operation, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    });

    it('truncates the echoed operation id to 200 characters', async () => {
      const { value: result, spy } = await spied(() => fixture.gateway.call(`home.${'x'.repeat(5000)}`));
      const error = assertRefusedUndialed(result, spy, 'blocked_by_policy', 'unknown_operation');
      assert.equal(error.operation.length, 200);
      assert.ok(error.operation.startsWith('home.xxx'));
      assert.ok(fixture.audit.at(-1)!.operation.length <= 200);
    });
  });

  describe('invalid params are refused before dialing (SR-04, DESIGN §5 "Paths")', () => {
    const cases: ReadonlyArray<readonly [string, string, unknown]> = [
      ['a missing required param', 'home.forecast', {}],
      ['a param of the wrong type', 'home.forecast', { city: 7 }],
      ['an extra param', 'home.forecast', { city: 'Oslo', admin: true }],
      ['a value over maxLength', 'home.forecast', { city: 'x'.repeat(65) }],
      ['params that are not an object', 'home.forecast', 'Oslo'],
      ['CR in a path param', 'home.item', { id: 'a\rb' }],
      ['LF in a path param', 'home.item', { id: 'a\nHost: evil' }],
      ['NUL in a path param', 'home.item', { id: 'a\u0000b' }],
      ['CR LF in a query param', 'home.item', { id: 'a', q: 'x\r\nX-Injected: 1' }],
      ['NUL in a query param', 'home.item', { id: 'a', q: 'x\u0000' }],
      ['the path value "."', 'home.item', { id: '.' }],
      ['the path value ".."', 'home.item', { id: '..' }],
      ['an empty path value', 'home.item', { id: '' }],
      ['an object as a path value', 'home.item', { id: { toString: 'x' } }],
      ['an array as a path value', 'home.item', { id: ['a', 'b'] }],
      ['null as a path value', 'home.item', { id: null }],
      ['a missing path value', 'home.item', {}],
      ['an object as a query value', 'home.item', { id: 'a', q: { a: 1 } }],
      ['a lone surrogate in a path value', 'home.item', { id: 'a\ud800' }],
    ];
    for (const [what, operation, params] of cases) {
      it(`refuses ${what} as invalid_input without dialing`, async () => {
        const lookupsBefore = fixture.lookupCalls.length;
        const before = seenUrls.length;
        const { value: result, spy } = await spied(() => fixture.gateway.call(operation, params));
        const error = failed(result);
        assert.equal(error.kind, 'invalid_input', JSON.stringify(error));
        assert.equal(error.retryable, false);
        assert.equal(spy.count, 0);
        assert.equal(spy.sockets, 0);
        assert.equal(fixture.lookupCalls.length, lookupsBefore);
        assert.equal(seenUrls.length, before);
        assert.equal(fixture.audit.at(-1)!.outcome, 'invalid_input');
      });
    }
  });

  describe('path params never leave the base path (FR-02, SR-04, DESIGN §4.1, §5 "Paths")', () => {
    const NASTY = ['..', '.', '%2e%2e', '%2E%2e', '.%2e', '%2f', '/', '\\', '..\\..', '?', '#', '@evil', ':443', '//evil.test', 'a/../../b', 'https://evil.test/', '%00', '\t', ' ', '..;', '．．', '%', '%zz', '\ud800', 'ä/ö', '😀'];
    const value = fc.oneof(
      fc.constantFrom(...NASTY),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
      fc.string({ unit: 'binary', maxLength: 12 }),
      fc.array(fc.constantFrom(...NASTY, 'a', '.', '/'), { maxLength: 5 }).map((parts) => parts.join('')),
    );

    it('the pure builder encodes any string as one segment under the base path, or refuses it (1000 runs)', () => {
      const policy = compilePolicy(destinationsPolicy(8443));
      const operation = policy.operations.get('home.item')!;
      let accepted = 0;
      fc.assert(
        fc.property(value, (id) => {
          let url: URL;
          try {
            // The request goes to the service's origin; its path is what the builder made.
            url = new URL(buildOperationRequest(operation, { id }).path, 'https://api.test:8443');
          } catch (error) {
            assert.ok(isFailure(error), `threw a non-failure: ${String(error)}`);
            assert.equal(error.kind, 'invalid_input');
            return;
          }
          accepted++;
          assert.equal(url.origin, 'https://api.test:8443');
          assert.ok(url.pathname.startsWith('/v1/items/'), url.pathname);
          const segment = url.pathname.slice('/v1/items/'.length);
          assert.ok(!segment.includes('/'), `more than one segment: ${url.pathname}`);
          assert.equal(decodeURIComponent(segment), id);
          assert.equal(url.search, '');
          assert.equal(url.hash, '');
          // What goes on the wire is exactly what a URL parser makes of it: nothing is normalised away.
          assert.equal(url.pathname + url.search, buildOperationRequest(operation, { id }).path);
        }),
        { numRuns: Number(process.env.FC_RUNS ?? 1000), seed: FC_SEED },
      );
      assert.ok(accepted > 500, `only ${accepted} values were accepted: the property proved little`);
    });

    it('the real server sees each accepted value under the base path, on the same server (100 runs)', async () => {
      let accepted = 0;
      await fc.assert(
        fc.asyncProperty(value, async (id) => {
          const before = seenUrls.length;
          const result = await fixture.gateway.call('home.item', { id });
          if (!result.ok) {
            assert.equal(result.error.kind, 'invalid_input', JSON.stringify(result.error));
            assert.equal(seenUrls.length, before);
            return;
          }
          accepted++;
          assert.equal(seenUrls.length, before + 1, 'the request reached the fixture server');
          const seen = seenUrls.at(-1)!;
          assert.ok(seen.startsWith('/v1/items/'), seen);
          assert.equal(decodeURIComponent(seen.slice('/v1/items/'.length)), id);
        }),
        { numRuns: 100, seed: FC_SEED },
      );
      assert.ok(accepted > 50, `only ${accepted} values were accepted`);
    });
  });

  describe('privateRanges and IPv4-mapped answers (FR-04, DESIGN §5 "Private ranges")', () => {
    let mappedFixture: GatewayFixture;
    before(async () => {
      mappedFixture = await startGatewayFixture({
        policy: (port) => ({
          version: 1,
          services: {
            home: {
              baseUrl: `https://api.test:${port}/`,
              rationale: 'Resolves to an IPv4-mapped loopback address.',
              privateRanges: ['127.0.0.0/8'],
              operations: { ping: GET_OPERATION },
            },
          },
        }),
        dns: { 'api.test': ['::ffff:127.0.0.1'] },
        handler: (_req, res) => {
          res.setHeader('content-type', 'application/json');
          res.end('{"mapped":true}');
        },
      });
    });
    after(() => mappedFixture.close());

    it('privateRanges 127.0.0.0/8 allows an ::ffff:127.0.0.1 answer and the call succeeds', async () => {
      const before = mappedFixture.server.connections;
      const { value: result, spy } = await spied(() => mappedFixture.gateway.call('home.ping'));
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.data, { mapped: true });
      assert.equal(mappedFixture.server.connections, before + 1);
      assert.deepEqual(
        spy.attempts.map((attempt) => attempt.address),
        ['::ffff:127.0.0.1'],
      );
    });
  });
});

describe('plain http to loopback only with allowHttpLoopback (SR-05, DESIGN §3)', () => {
  const httpPolicy = (baseUrl: string, extra: object = {}): object => ({
    version: 1,
    services: { local: { baseUrl, rationale: 'A local plain-http helper.', ...extra, operations: { ping: GET_OPERATION } } },
  });

  it('refuses an http baseUrl at load without allowHttpLoopback', async () => {
    const { value: outcome, spy } = await spied(() =>
      createGateway({ policy: httpPolicy('http://127.0.0.1:9/', { privateRanges: LOOPBACK_RANGES }), audit: false }).then(
        () => 'loaded',
        (error: unknown) => error,
      ),
    );
    assert.ok(outcome instanceof PolicyError, String(outcome));
    assert.match(outcome.message, /https/);
    assert.equal(spy.sockets, 0);
  });

  it('refuses an http baseUrl to a non-loopback host at load even with allowHttpLoopback', async () => {
    for (const baseUrl of ['http://api.test:9/', 'http://10.0.0.1/', 'http://169.254.169.254/']) {
      const outcome = await createGateway({ policy: httpPolicy(baseUrl, { allowHttpLoopback: true }), audit: false }).then(
        () => 'loaded',
        (error: unknown) => error,
      );
      assert.ok(outcome instanceof PolicyError, `${baseUrl}: ${String(outcome)}`);
    }
  });

  it('calls a plain http loopback server with allowHttpLoopback and privateRanges', async () => {
    const server = await startHttpServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url }));
    });
    const gateway = await createGateway({
      policy: httpPolicy(`http://127.0.0.1:${server.port}/base`, { allowHttpLoopback: true, privateRanges: LOOPBACK_RANGES }),
      audit: false,
      network: { lookup: stubLookup({}), proxy: 'none' },
    });
    try {
      const result = await gateway.call('local.ping');
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.ok(result.ok);
      assert.deepEqual(result.data, { url: '/base/ping' });
      assert.equal(server.connections, 1);
    } finally {
      await gateway.close();
      await server.close();
    }
  });

  it('refuses plain http to localhost when the name resolves to a public address, before dialing', async () => {
    const gateway = await createGateway({
      policy: httpPolicy('http://localhost:8080/', { allowHttpLoopback: true, privateRanges: LOOPBACK_RANGES }),
      audit: false,
      // A hostile or misconfigured resolver: localhost -> a public address (never dialed: refused in the lookup).
      network: { lookup: stubLookup({ localhost: ['8.8.8.8'] }), proxy: 'none' },
    });
    try {
      const { value: result, spy } = await spied(() => gateway.call('local.ping'));
      assertRefusedUndialed(result, spy, 'blocked_by_policy', 'insecure_transport');
    } finally {
      await gateway.close();
    }
  });

  it('refuses a plain http loopback call without privateRanges before dialing', async () => {
    const server = await startHttpServer((_req, res) => res.end('{}'));
    const gateway = await createGateway({
      policy: httpPolicy(`http://127.0.0.1:${server.port}/`, { allowHttpLoopback: true }),
      audit: false,
      network: { lookup: stubLookup({}), proxy: 'none' },
    });
    try {
      const { value: result, spy } = await spied(() => gateway.call('local.ping'));
      assertRefusedUndialed(result, spy, 'blocked_by_policy', 'private_address');
      assert.equal(spy.sockets, 0);
      assert.equal(server.connections, 0);
    } finally {
      await gateway.close();
      await server.close();
    }
  });
});
