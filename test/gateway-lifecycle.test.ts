/**
 * Cancellation, shutdown, the audit file, and calls that never throw whatever they are given.
 * @see DESIGN.md §2 ("call and request never throw"), §5 "Cancellation and shutdown", "Audit timing";
 * FR-02, FR-07, UXR-02
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import { createGateway, ERROR_KINDS, type AuditEvent, type CallResult, type Gateway, type GatewayOptions } from '../src/index.ts';
import { memorySecretStore } from '../src/auth/memory-store.ts';
import { LOOPBACK_NAMES, makeTestPki } from './support/certs.ts';
import { spyConnections } from './support/connect-spy.ts';
import { expectFailure, safeStringify } from './support/envelope-assert.ts';
import { LOOPBACK_RANGES } from './support/gateway-fixture.ts';
import { stubLookup } from './support/lookup.ts';
import { json, routed, sleep, within, type RoutedHandler } from './support/routes.ts';
import { startHttpsServer, type TestServer } from './support/servers.ts';

const KEY = 'k3y-lifecycle-secret';
const PARAM_VALUE = 'Trondheim-param-value';

function policy(port: number): object {
  const nameParams = {
    type: 'object',
    properties: { name: { type: 'string' }, city: { type: 'string' } },
    required: ['name'],
    additionalProperties: false,
  };
  return {
    version: 1,
    credentials: { key: { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      life: {
        baseUrl: `https://api.test:${port}/v1`,
        rationale: 'Lifecycle tests.',
        credential: 'key',
        privateRanges: LOOPBACK_RANGES,
        limits: { timeoutMs: 3000, retries: 0 },
        operations: {
          get: { method: 'GET', path: '/l/{name}', params: nameParams, query: ['city'] },
          // A short deadline, so a timer leaked by a bad call cannot hold the test process for long.
          quick: { method: 'GET', path: '/l/{name}', params: nameParams, limits: { timeoutMs: 400 } },
          save: {
            method: 'POST',
            path: '/l/save',
            params: { type: 'object', properties: { body: { type: 'object' } }, required: ['body'] },
            body: 'body',
          },
        },
        requests: [{ methods: ['GET'], path: '/l/*' }],
      },
    },
  };
}

function isEnvelope(value: unknown): value is CallResult {
  if (typeof value !== 'object' || value === null) return false;
  const result = value as Record<string, unknown>;
  if (result.ok === true) return typeof result.status === 'number' && typeof result.correlationId === 'string';
  if (result.ok !== false) return false;
  const error = result.error as Record<string, unknown> | undefined;
  return (
    typeof error === 'object' &&
    error !== null &&
    (ERROR_KINDS as readonly unknown[]).includes(error.kind) &&
    typeof error.message === 'string' &&
    typeof error.retryable === 'boolean' &&
    typeof error.operation === 'string' &&
    typeof error.correlationId === 'string'
  );
}

/** Runs `invoke` and proves it neither threw synchronously nor rejected; returns the envelope. */
async function settles(invoke: () => Promise<CallResult>): Promise<CallResult> {
  let promise: Promise<CallResult>;
  try {
    promise = invoke();
  } catch (error) {
    assert.fail(`threw synchronously: ${String(error)}`);
  }
  let result: CallResult;
  try {
    result = await within(2000, promise, 'call settles');
  } catch (error) {
    assert.fail(`rejected: ${String(error)}`);
  }
  assert.ok(isEnvelope(result), `not an envelope: ${safeStringify(result)}`);
  return result;
}

describe('cancellation, shutdown and robustness (FR-02, FR-07, UXR-02, DESIGN §5 "Cancellation and shutdown")', () => {
  let server: TestServer;
  let handler: RoutedHandler;
  let caPem: string;
  let tempDir: string;
  const gateways: Gateway[] = [];
  const hung = new Set<ServerResponse>();

  async function newGateway(extra: Partial<GatewayOptions> = {}): Promise<Gateway> {
    const gateway = await createGateway({
      policy: policy(server.port),
      secrets: memorySecretStore({ key: { key: KEY } }),
      audit: false,
      network: { lookup: stubLookup({ 'api.test': ['127.0.0.1'] }), ca: [caPem], proxy: 'none' },
      ...extra,
    });
    gateways.push(gateway);
    return gateway;
  }

  before(async () => {
    const pki = await makeTestPki();
    caPem = pki.caPem;
    handler = routed({
      ok: json(200, { fine: true }),
      save: json(200, { saved: true }),
      missing: json(404, { error: 'nope' }),
      hang: (_req, res) => {
        hung.add(res);
        res.once('close', () => hung.delete(res));
      },
      'hang-body': (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"slow":');
        hung.add(res);
        res.once('close', () => hung.delete(res));
      },
    });
    server = await startHttpsServer(handler, await pki.issue(LOOPBACK_NAMES));
    tempDir = await mkdtemp(join(tmpdir(), 'gatehouse-lifecycle-'));
  });

  after(async () => {
    await Promise.allSettled(gateways.map((gateway) => gateway.close()));
    for (const res of hung) res.destroy();
    await server.close();
    await rm(tempDir, { recursive: true, force: true });
  });

  describe('cancellation (cancelled/aborted)', () => {
    it('sends nothing for an already-aborted signal and ends cancelled/aborted', async () => {
      const gateway = await newGateway();
      const requestsBefore = handler.requests.length;
      const connectionsBefore = server.connections;
      const spy = spyConnections();
      let result: CallResult;
      try {
        result = await gateway.call('life.get', { name: 'ok' }, { signal: AbortSignal.abort() });
      } finally {
        spy.dispose();
      }
      expectFailure(result, { kind: 'cancelled', reason: 'aborted', retryable: false });
      assert.equal(spy.sockets, 0, 'no socket was opened');
      assert.equal(spy.count, 0, 'nothing was dialed');
      assert.equal(handler.requests.length, requestsBefore, 'the server saw no request');
      assert.equal(server.connections, connectionsBefore, 'the server saw no connection');
    });

    it('sends nothing for an already-aborted signal on request() either', async () => {
      const gateway = await newGateway();
      const requestsBefore = handler.requests.length;
      const spy = spyConnections();
      let result: CallResult;
      try {
        result = await gateway.request('life', { method: 'GET', path: '/l/ok' }, { signal: AbortSignal.abort() });
      } finally {
        spy.dispose();
      }
      expectFailure(result, { kind: 'cancelled', reason: 'aborted', retryable: false });
      assert.equal(spy.count, 0);
      assert.equal(handler.requests.length, requestsBefore);
    });

    it('ends a call cancelled/aborted promptly when the signal aborts while waiting for headers', async () => {
      const gateway = await newGateway();
      const controller = new AbortController();
      const pending = gateway.call('life.get', { name: 'hang' }, { signal: controller.signal });
      await sleep(100);
      const aborted = performance.now();
      controller.abort();
      const result = await within(1000, pending, 'aborted call ends');
      const elapsed = performance.now() - aborted;
      expectFailure(result, { kind: 'cancelled', reason: 'aborted', retryable: false });
      assert.ok(elapsed < 200, `ended ${elapsed} ms after abort`);
    });

    it('ends a call cancelled/aborted promptly when the signal aborts while reading the body', async () => {
      const gateway = await newGateway();
      const controller = new AbortController();
      const pending = gateway.call('life.get', { name: 'hang-body' }, { signal: controller.signal });
      await sleep(100);
      const aborted = performance.now();
      controller.abort();
      const result = await within(1000, pending, 'aborted call ends');
      expectFailure(result, { kind: 'cancelled', reason: 'aborted', retryable: false });
      assert.ok(performance.now() - aborted < 200);
    });
  });

  it('ends at the deadline when the secret store never answers, dialing nothing', async () => {
    const hangingStore = {
      get: () => new Promise<never>(() => {}),
      set: async () => {},
      delete: async () => {},
      list: async () => [],
    };
    const gateway = await newGateway({ secrets: hangingStore as unknown as GatewayOptions['secrets'] });
    const spy = spyConnections();
    const started = performance.now();
    let result: CallResult;
    try {
      result = await gateway.call('life.quick', { name: 'ok' });
    } finally {
      spy.dispose();
    }
    const elapsed = performance.now() - started;
    expectFailure(result, { kind: 'timeout', reason: 'deadline', retryable: true });
    assert.ok(elapsed >= 380 && elapsed < 800, `took ${elapsed} ms for a 400 ms deadline`);
    assert.equal(spy.count, 0, 'nothing was dialed');
  });

  describe('close() (cancelled/closed)', () => {
    it('ends calls made after close() as cancelled/closed, sending nothing', async () => {
      const gateway = await newGateway();
      await gateway.close();
      const requestsBefore = handler.requests.length;
      const spy = spyConnections();
      try {
        const called = await gateway.call('life.get', { name: 'ok' });
        expectFailure(called, { kind: 'cancelled', reason: 'closed', retryable: false });
        const requested = await gateway.request('life', { method: 'GET', path: '/l/ok' });
        expectFailure(requested, { kind: 'cancelled', reason: 'closed', retryable: false });
        assert.equal(spy.count, 0);
      } finally {
        spy.dispose();
      }
      assert.equal(handler.requests.length, requestsBefore);
    });

    it('ends an in-flight call cancelled/closed quickly and close() resolves', async () => {
      const gateway = await newGateway();
      const pending = gateway.call('life.get', { name: 'hang' });
      await sleep(100);
      const closing = performance.now();
      await within(1000, gateway.close(), 'close() resolves');
      const result = await within(1000, pending, 'in-flight call ends');
      expectFailure(result, { kind: 'cancelled', reason: 'closed', retryable: false });
      assert.ok(performance.now() - closing < 500, 'ended quickly');
    });

    it('resolves a second close() too', async () => {
      const gateway = await newGateway();
      await gateway.close();
      await within(1000, gateway.close(), 'second close() resolves');
    });

    it('a second close() during the first waits for the same shutdown; calls after it are still audited', async () => {
      const file = join(tempDir, 'audit-twice', 'audit.jsonl');
      const gateway = await newGateway({ audit: { file } });
      const inFlight = [gateway.call('life.get', { name: 'hang' }, { correlationId: 'twice-1' }), gateway.call('life.get', { name: 'hang' }, { correlationId: 'twice-2' })];
      await sleep(100);
      void gateway.close();
      await within(1000, gateway.close(), 'second close() resolves');
      const afterClose = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
      assert.deepEqual(afterClose.map((line) => (JSON.parse(line) as AuditEvent).correlationId).sort(), ['twice-1', 'twice-2'], 'flushed before close() resolved');
      expectFailure(await inFlight[0]!, { kind: 'cancelled', reason: 'closed', retryable: false });
      expectFailure(await gateway.call('life.get', { name: 'ok' }, { correlationId: 'twice-3' }), { kind: 'cancelled', reason: 'closed', retryable: false });
      const lines = (await readFile(file, 'utf8')).split('\n').filter((line) => line !== '');
      assert.equal((JSON.parse(lines.at(-1)!) as AuditEvent).correlationId, 'twice-3', 'a call refused after close() is audited too');
      assert.equal(lines.length, 3);
    });

    it('flushes the audit file on close(): one valid JSON line per call, mode 0600, no values or secrets', async () => {
      const file = join(tempDir, 'audit', 'audit.jsonl');
      const gateway = await newGateway({ audit: { file } });
      const results = [
        await gateway.call('life.get', { name: 'ok', city: PARAM_VALUE }, { correlationId: 'audit-1' }),
        await gateway.call('life.get', { name: 'missing' }, { correlationId: 'audit-2' }),
        await gateway.call('life.nope', {}, { correlationId: 'audit-3' }),
        await gateway.call('life.get', { name: 'ok' }, { correlationId: 'audit-4', signal: AbortSignal.abort() }),
      ];
      assert.deepEqual(results.map((r) => r.ok), [true, false, false, false]);
      await gateway.close();

      const text = await readFile(file, 'utf8');
      assert.ok(text.endsWith('\n'), 'complete lines');
      const lines = text.split('\n').filter((line) => line !== '');
      assert.equal(lines.length, 4, text);
      const events = lines.map((line) => JSON.parse(line) as AuditEvent);
      assert.deepEqual(events.map((e) => e.correlationId), ['audit-1', 'audit-2', 'audit-3', 'audit-4']);
      assert.deepEqual(events.map((e) => e.outcome), ['ok', 'not_found', 'blocked_by_policy', 'cancelled']);
      assert.equal(events[0]!.status, 200);
      assert.equal(events[0]!.pathTemplate, '/l/{name}');
      assert.equal(events[1]!.status, 404);
      for (const event of events) assert.ok(!Number.isNaN(Date.parse(event.time)));
      assert.ok(!text.includes(PARAM_VALUE), 'no param values');
      assert.ok(!text.includes(KEY), 'no secrets');
      assert.equal((await stat(file)).mode & 0o777, 0o600);
    });
  });

  describe('never throws (DESIGN §2: every outcome is an envelope)', () => {
    let gateway: Gateway;
    before(async () => {
      gateway = await newGateway();
    });

    const cyclic: Record<string, unknown> = { name: 'ok' };
    cyclic.self = cyclic;
    const cyclicBody: Record<string, unknown> = { a: 1 };
    cyclicBody.self = cyclicBody;

    const garbage: [string, () => Promise<CallResult>, ((result: CallResult) => void)?][] = [
      [
        'a null operation id',
        () => gateway.call(null as unknown as string, {}),
        (r) => expectFailure(r, { kind: 'blocked_by_policy', reason: 'unknown_operation', retryable: false }),
      ],
      [
        'an operation id with no string form',
        () => gateway.call(Object.create(null) as string, {}),
        (r) => expectFailure(r, { kind: 'blocked_by_policy', reason: 'unknown_operation', retryable: false }),
      ],
      [
        'a Symbol operation id',
        () => gateway.call(Symbol('op') as unknown as string, {}),
        (r) => expectFailure(r, { kind: 'blocked_by_policy', reason: 'unknown_operation', retryable: false }),
      ],
      [
        'call options whose getter throws',
        () => gateway.call('life.get', { name: 'ok' }, Object.defineProperty({}, 'caller', { get() { throw new Error('boom'); } })),
        (r) => expectFailure(r, { kind: 'invalid_input', reason: 'unsafe_value', retryable: false }),
      ],
      [
        'request options whose getter throws',
        () => gateway.request('life', { path: '/x' }, Object.defineProperty({}, 'signal', { get() { throw new Error('boom'); } })),
        (r) => expectFailure(r, { kind: 'invalid_input', reason: 'unsafe_value', retryable: false }),
      ],
      [
        'a function as params',
        () => gateway.call('life.get', (() => ({ name: 'ok' })) as unknown as object),
        (r) => expectFailure(r, { kind: 'invalid_input', retryable: false }),
      ],
      [
        'a BigInt as params',
        () => gateway.call('life.get', 10n),
        (r) => expectFailure(r, { kind: 'invalid_input', retryable: false }),
      ],
      [
        'a BigInt inside a JSON body',
        () => gateway.call('life.save', { body: { n: 10n } }),
        (r) => expectFailure(r, { kind: 'invalid_input', retryable: false }),
      ],
      [
        'cyclic params',
        () => gateway.call('life.get', cyclic),
        (r) => expectFailure(r, { kind: 'invalid_input', retryable: false }),
      ],
      [
        'a cyclic JSON body',
        () => gateway.call('life.save', { body: cyclicBody }),
        (r) => expectFailure(r, { kind: 'invalid_input', reason: 'unsafe_value', retryable: false }),
      ],
      ['options null', () => gateway.call('life.get', { name: 'ok' }, null as unknown as object)],
      ['options a string', () => gateway.call('life.get', { name: 'ok' }, 'fast' as unknown as object)],
      ['a signal that is not an AbortSignal', () => gateway.call('life.quick', { name: 'ok' }, { signal: {} as AbortSignal })],
      [
        'a forged signal: AbortSignal.prototype, an aborted getter that throws',
        () => {
          const forged = Object.setPrototypeOf({}, AbortSignal.prototype) as AbortSignal;
          Object.defineProperty(forged, 'aborted', { get: () => { throw new Error('forged'); } });
          return gateway.call('life.quick', { name: 'ok' }, { signal: forged });
        },
        (r) => expectFailure(r, { kind: 'invalid_input', reason: 'unsafe_value', retryable: false }),
      ],
      [
        'request() with a null request and null options',
        () => gateway.request('life', null as unknown as { path: string }, null as unknown as object),
      ],
      [
        'request() with a null service and a string request',
        () => gateway.request(null as unknown as string, 'GET /l/ok' as unknown as { path: string }),
        (r) => expectFailure(r, { kind: 'blocked_by_policy', retryable: false }),
      ],
      [
        'request() with non-string method and path',
        () => gateway.request('life', { method: {} as string, path: 42 as unknown as string }),
        (r) => assert.equal(r.ok, false),
      ],
    ];

    for (const [title, invoke, check] of garbage) {
      it(`resolves to an envelope for ${title}`, async () => {
        const result = await settles(invoke);
        check?.(result);
      });
    }

    it('leaves no deadline timer running after a call whose signal option is not an AbortSignal', async () => {
      const own = await newGateway();
      const timers = (): number => process.getActiveResourcesInfo().filter((name) => name === 'Timeout').length;
      const before = timers();
      await settles(() => own.call('life.quick', { name: 'ok' }, { signal: {} as AbortSignal }));
      await own.close();
      assert.equal(timers(), before, 'a timer outlived the call and close()');
    });

    it('refuses a caller that is not a string instead of taking it for the trusted main role', async () => {
      for (const caller of [42, {}, ['main']]) {
        const result = await settles(() => gateway.call('life.get', { name: 'ok' }, { caller: caller as unknown as string }));
        assert.equal(result.ok, false, `caller ${safeStringify(caller)} was treated as main: ${safeStringify(result)}`);
        expectFailure(result, { kind: 'blocked_by_policy', reason: 'caller_not_allowed', retryable: false });
      }
    });

    it('refuses a caller that only becomes main once control characters are removed', async () => {
      for (const caller of ['ma\u0000in', 'main\n', '\u0085main']) {
        const result = await settles(() => gateway.call('life.get', { name: 'ok' }, { caller }));
        assert.equal(result.ok, false, `caller ${JSON.stringify(caller)} was treated as main: ${safeStringify(result)}`);
        expectFailure(result, { kind: 'blocked_by_policy', reason: 'caller_not_allowed', retryable: false });
      }
    });
  });
});
