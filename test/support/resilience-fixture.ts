/**
 * A gateway on a loopback HTTPS server whose behaviour a test swaps at will (resets, 503 with
 * Retry-After, slow answers, going away and coming back), with a data dir for the offline queue,
 * collected audit events and status events, and per-idempotency-key counts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway, type AuditEvent, type Gateway } from '../../src/index.ts';
import type { LookupFunction } from '../../src/net/dispatcher.ts';
import type { StatusEvent } from '../../src/resilience/status-events.ts';
import { LOOPBACK_NAMES, makeTestPki } from './certs.ts';
import { LOOPBACK_RANGES } from './gateway-fixture.ts';
import { stubLookup } from './lookup.ts';
import { startHttpsServer, type TestServer } from './servers.ts';

/** What the server does with one request (after its body was read). */
export type Behaviour = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A running fixture. */
export interface ResilienceFixture {
  gateway: Gateway;
  server: TestServer;
  audit: AuditEvent[];
  events: StatusEvent[];
  /** Requests seen per `Idempotency-Key` (requests without one are not counted here). */
  keys: Map<string, number>;
  /** Requests seen in total. */
  readonly requests: number;
  dataDir: string;
  /** Replaces the server's behaviour. */
  behave(behaviour: Behaviour): void;
  /** Closes the gateway only (the server and data dir stay). */
  closeGateway(): Promise<void>;
  /** A new gateway on the same data dir and server (a restart). */
  restart(): Promise<Gateway>;
  close(): Promise<void>;
}

/** Options of {@link startResilienceFixture}. */
export interface ResilienceFixtureOptions {
  /** Limits and extra settings merged into the `shop` service. */
  service?: Record<string, unknown>;
  /** Extra operations of the `shop` service. */
  operations?: Record<string, unknown>;
  /** DNS table; `api.test` resolves to 127.0.0.1 by default. */
  lookup?: LookupFunction;
  dataDir?: string;
  /** The policy's per-role limits (`roles:`). */
  roles?: Record<string, unknown>;
}

/** Answers 200 with `{ ok: true }`. */
export const answerOk: Behaviour = (_req, res) => {
  res.setHeader('content-type', 'application/json');
  res.end('{"ok":true}');
};

/** Destroys the connection without an answer (a reset). */
export const reset: Behaviour = (req) => req.socket.destroy();

/** Answers `status` with optional Retry-After seconds. */
export function answer(status: number, retryAfter?: string): Behaviour {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(retryAfter === undefined ? {} : { 'retry-after': retryAfter }) });
    res.end('{}');
  };
}

/** The policy: one service `shop` with GET `item`, POST `order` (queued offline) and extras. */
export function shopPolicy(port: number, options: ResilienceFixtureOptions = {}): object {
  return {
    version: 1,
    ...(options.roles === undefined ? {} : { roles: options.roles }),
    services: {
      shop: {
        baseUrl: `https://api.test:${port}/v1`,
        rationale: 'Resilience tests.',
        privateRanges: LOOPBACK_RANGES,
        ...options.service,
        operations: {
          item: { method: 'GET', path: '/item/{id}', params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] }, callers: ['renderer'] },
          order: {
            method: 'POST',
            path: '/order',
            params: { type: 'object', properties: { body: { type: 'object' } }, required: ['body'] },
            body: 'body',
            offline: 'queue',
            callers: ['renderer'],
          },
          ...options.operations,
        },
      },
    },
  };
}

/** Starts the server and a gateway for it. */
export async function startResilienceFixture(options: ResilienceFixtureOptions = {}): Promise<ResilienceFixture> {
  const pki = await makeTestPki();
  let behaviour: Behaviour = answerOk;
  let requests = 0;
  const keys = new Map<string, number>();
  const server = await startHttpsServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('end', () => {
      requests += 1;
      const key = req.headers['idempotency-key'];
      if (typeof key === 'string') keys.set(key, (keys.get(key) ?? 0) + 1);
      behaviour(req, res, body);
    });
  }, await pki.issue(LOOPBACK_NAMES));
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'gatehouse-resilience-'));
  const audit: AuditEvent[] = [];
  const events: StatusEvent[] = [];
  const open = async (): Promise<Gateway> => {
    const gateway = await createGateway({
      policy: shopPolicy(server.port, options),
      dataDir,
      audit: { sink: (event) => audit.push(event) },
      network: { lookup: options.lookup ?? stubLookup({ 'api.test': ['127.0.0.1'] }), ca: [pki.caPem], proxy: 'none' },
    });
    gateway.onStatus((event) => events.push(event));
    return gateway;
  };
  const fixture: ResilienceFixture = {
    gateway: await open(),
    server,
    audit,
    events,
    keys,
    get requests() {
      return requests;
    },
    dataDir,
    behave(next) {
      behaviour = next;
    },
    closeGateway: () => fixture.gateway.close(),
    async restart() {
      await fixture.gateway.close();
      fixture.gateway = await open();
      return fixture.gateway;
    },
    async close() {
      await fixture.gateway.close();
      await server.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return fixture;
}
