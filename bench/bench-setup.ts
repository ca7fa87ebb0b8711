/**
 * What the benchmarks share: the loopback HTTPS server in its own process and a gateway set up as
 * the issue's benchmark asks (param and response validation, an apiKey credential, the audit file).
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createGateway, memorySecretStore, type Gateway } from '../src/index.ts';
import { LOOPBACK_NAMES, makeTestPki } from '../test/support/certs.ts';
import { stubLookup } from '../test/support/lookup.ts';

/** The credential the bench service sends. */
export const API_KEY = 'bench-key-0123456789abcdef';
const MIB = 1024 * 1024;

/** The forked server and the CA its certificate chains to. */
export interface BenchServer {
  child: ChildProcess;
  port: number;
  caPem: string;
  bombs: { gzipBytes: number; brotliBytes: number };
}

/** Forks bench/bench-server.ts (with this Node) on a loopback port. */
export async function startBenchServer(): Promise<BenchServer> {
  const pki = await makeTestPki();
  const tls = await pki.issue([...LOOPBACK_NAMES, 'bench.test']);
  const child = fork(join(import.meta.dirname, 'bench-server.ts'), [], {
    execPath: process.execPath,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send({ type: 'start', key: tls.key, cert: tls.cert });
  const [ready] = (await once(child, 'message')) as [{ port: number; bombs: BenchServer['bombs'] }];
  return { child, port: ready.port, caPem: pki.caPem, bombs: ready.bombs };
}

/**
 * Puts the server on the last CPU and this process on the first (Linux `taskset`), so that the
 * two do not take turns on one CPU and rounds vary less. Off with `BENCH_PIN=0`, and where there
 * is one CPU or no `taskset`. Returns what was done, for the report.
 */
export function pinApart(server: BenchServer): string {
  const cpus = availableParallelism();
  if (process.env.BENCH_PIN === '0' || cpus < 2 || process.platform !== 'linux') return 'not pinned';
  try {
    execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', String(cpus - 1), String(server.child.pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', '0', String(process.pid)], { stdio: 'ignore' });
    return `pinned: server on CPU ${cpus - 1}, bench on CPU 0`;
  } catch {
    return 'not pinned (no taskset)';
  }
}

/** The bench policy: `bench.get1k` validates its params and its 1 KiB JSON answer. */
export function benchPolicy(port: number): object {
  return {
    version: 1,
    defaults: { timeoutMs: 30_000, maxResponseBytes: MIB },
    credentials: { 'bench-key': { type: 'apiKey', header: 'X-Api-Key' } },
    services: {
      bench: {
        baseUrl: `https://bench.test:${port}/v1`,
        rationale: 'Benchmark upstream on loopback.',
        credential: 'bench-key',
        privateRanges: ['127.0.0.0/8'],
        operations: {
          get1k: {
            method: 'GET',
            path: '/items/{id}',
            params: {
              type: 'object',
              properties: { id: { type: 'string', pattern: '^[a-z0-9-]{1,32}$' }, limit: { type: 'integer', minimum: 1, maximum: 100 } },
              required: ['id'],
              additionalProperties: false,
            },
            query: ['limit'],
            response: {
              type: 'object',
              required: ['id', 'name', 'values'],
              properties: {
                id: { type: 'string' },
                name: { type: 'string' },
                tags: { type: 'array', items: { type: 'string' } },
                values: { type: 'array', items: { type: 'integer' } },
              },
            },
          },
          huge: { method: 'GET', path: '/huge' },
          gzipBomb: { method: 'GET', path: '/gzip-bomb' },
          brBomb: { method: 'GET', path: '/br-bomb' },
        },
      },
    },
  };
}

/** A gateway on the bench server, auditing to `dataDir/audit.jsonl`. */
export function createBenchGateway(server: BenchServer, dataDir: string): Promise<Gateway> {
  return createGateway({
    policy: benchPolicy(server.port),
    dataDir,
    secrets: memorySecretStore({ 'bench-key': { key: API_KEY } }),
    audit: { file: join(dataDir, 'audit.jsonl') },
    network: { lookup: stubLookup({ 'bench.test': ['127.0.0.1'] }), ca: [server.caPem], proxy: 'none' },
  });
}
