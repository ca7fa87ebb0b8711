/**
 * Gatehouse benchmark — prints numbers, asserts nothing. Not a test.
 *
 * Run:   npm ci && npm run bench          (= node bench/gateway.bench.ts, Node 24; ~1 minute)
 * Tune:  BENCH_ROUNDS=30 BENCH_ROUND_MS=400 BENCH_IN_FLIGHT=64 BENCH_PIN=1 npm run bench
 *
 * Setup: one loopback HTTPS server in a separate process (bench/bench-server.ts, forked with this
 * Node), certificates from a throwaway CA generated at start; the gateway resolves `bench.test`
 * with a stub lookup to 127.0.0.1. Traffic goes to 127.0.0.1 only.
 *
 * What it measures:
 *  (a/b) Throughput and latency, 1 KiB JSON over keep-alive, 64 calls in flight, alternating
 *        rounds (raw, gateway, gateway, raw, raw, ... so drift shows and favours neither):
 *          raw      undici.request with an Agent set up like Gatehouse's (allowH2: false, the test
 *                   CA added to Node's roots) + JSON.parse of the body;
 *          gateway  gateway.call('bench.get1k', params) with param validation, response schema
 *                   validation, an apiKey credential and the audit written to a file.
 *        Per round: req/s, p50 and p99 latency, process CPU per call (all threads) and main-thread
 *        CPU per call (what bounds one event loop); then the median ratio gateway/raw of req/s
 *        (target >= 0.90). CPU per call is the steadier figure when other processes share the machine.
 *  (c)   Median time to deny a call refused by policy (unknown operation; caller not allowed),
 *        20,000 calls each, audit on (target < 20 µs).
 *  (d)   Peak RSS growth while 20 concurrent calls receive a 1 GiB body (chunked zeros) with
 *        maxResponseBytes 1 MiB (target < 64 MiB), and the time to refusal.
 *  (e)   The same for a gzip bomb and a brotli bomb (1 GiB decompressed each): time to refusal and
 *        peak RSS growth; both must stop at the 1 MiB cap.
 *
 * Where it can (Linux, two CPUs or more, `taskset`), the server runs on the last CPU and the bench
 * on the first, so that they do not take turns on one CPU; `BENCH_PIN=0` turns that off.
 * Single runs on a shared 2-vCPU machine swing; compare ratios within one run, not across runs.
 */
import { once } from 'node:events';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import type { Gateway } from '../src/index.ts';
import { API_KEY, createBenchGateway, pinApart, startBenchServer } from './bench-setup.ts';

const ROUNDS = envInt('BENCH_ROUNDS', 30);
const ROUND_MS = envInt('BENCH_ROUND_MS', 400);
const IN_FLIGHT = envInt('BENCH_IN_FLIGHT', 64);
const WARMUP_MS = 1000;
const DENY_CALLS = 20_000;
const DENY_BATCH = 100;
const BIG_CONCURRENCY = 20;
const MIB = 1024 * 1024;

interface RoundResult {
  requests: number;
  errors: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Process CPU time (user + system, all threads) per completed call. */
  cpuUsPerCall: number;
  /** CPU time of the main thread alone per completed call: what bounds one event loop's throughput. */
  mainUsPerCall: number;
}

interface BigResult {
  outcomes: Map<string, number>;
  medianMs: number;
  maxMs: number;
  peakRssGrowthMiB: number;
}

const warnings: string[] = [];
process.on('warning', (warning) => warnings.push(`${warning.name}: ${warning.message}`));

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Runs `fn` with `inFlight` concurrent loops for `ms`; latency per completed call. */
async function runLoad(fn: () => Promise<void>, ms: number, inFlight: number): Promise<RoundResult> {
  const latencies: number[] = [];
  let errors = 0;
  const cpuBefore = process.cpuUsage();
  const mainBefore = process.threadCpuUsage();
  const started = performance.now();
  const end = started + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        await fn();
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const main = process.threadCpuUsage(mainBefore);
  latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    reqPerSec: latencies.length / elapsed,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    cpuUsPerCall: (cpu.user + cpu.system) / Math.max(1, latencies.length),
    mainUsPerCall: (main.user + main.system) / Math.max(1, latencies.length),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function median(values: readonly number[]): number {
  return percentile([...values].sort((a, b) => a - b), 0.5);
}

/** Median per-call time of `DENY_CALLS` sequential refused calls, timed in batches. */
async function measureDeny(call: () => Promise<unknown>): Promise<{ medianUs: number; outcome: string }> {
  const outcome = JSON.stringify(await call());
  for (let i = 0; i < 2000; i++) await call(); // warm-up
  const perCall: number[] = [];
  for (let batch = 0; batch < DENY_CALLS / DENY_BATCH; batch++) {
    const t0 = performance.now();
    for (let i = 0; i < DENY_BATCH; i++) await call();
    perCall.push(((performance.now() - t0) * 1000) / DENY_BATCH);
    // Let the audit sink's setImmediate flush run, as it would between real events.
    if (batch % 10 === 9) await new Promise((resolve) => setImmediate(resolve));
  }
  return { medianUs: median(perCall), outcome };
}

/** `BIG_CONCURRENCY` concurrent calls of `operation`, sampling RSS every millisecond. */
async function measureBig(gateway: Gateway, operation: string): Promise<BigResult> {
  await new Promise((resolve) => setTimeout(resolve, 50));
  const baseline = process.memoryUsage.rss();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 1);
  const outcomes = new Map<string, number>();
  const times: number[] = [];
  try {
    await Promise.all(
      Array.from({ length: BIG_CONCURRENCY }, async () => {
        const t0 = performance.now();
        const result = await gateway.call(operation);
        times.push(performance.now() - t0);
        peak = Math.max(peak, process.memoryUsage.rss());
        const key = result.ok ? 'ok' : `${result.error.kind}/${result.error.reason ?? '-'}`;
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      }),
    );
  } finally {
    clearInterval(sampler);
  }
  return { outcomes, medianMs: median(times), maxMs: Math.max(...times), peakRssGrowthMiB: (peak - baseline) / MIB };
}

const fmt = (value: number, digits = 1): string => value.toFixed(digits);
const pad = (text: string | number, width: number): string => String(text).padStart(width);

async function main(): Promise<void> {
  const wallStart = performance.now();
  console.log(`Gatehouse bench — Node ${process.version}, ${ROUNDS} rounds × ${ROUND_MS} ms per contender, ${IN_FLIGHT} in flight`);

  const server = await startBenchServer();
  const { child, port } = server;
  console.log(`server  pid ${child.pid}, https://127.0.0.1:${port}; bombs on the wire: gzip ${server.bombs.gzipBytes} B, brotli ${server.bombs.brotliBytes} B (1 GiB each decompressed)`);
  console.log(`CPUs    ${pinApart(server)}`);

  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-bench-'));
  const auditFile = join(dataDir, 'audit.jsonl');
  const gateway = await createBenchGateway(server, dataDir);
  // Same settings as Gatehouse's dispatcher (src/net/dispatcher.ts), minus the pinned lookup.
  const agent = new Agent({ allowH2: false, connect: { ca: [...rootCertificates, server.caPem] } });
  const rawUrl = `https://127.0.0.1:${port}/v1/items/item-0001?limit=10`;

  const raw = async (): Promise<void> => {
    const response = await request(rawUrl, { dispatcher: agent, headers: { 'x-api-key': API_KEY, accept: 'application/json' } });
    if (response.statusCode !== 200) throw new Error(`status ${response.statusCode}`);
    JSON.parse(await response.body.text());
  };
  const viaGateway = async (): Promise<void> => {
    const result = await gateway.call('bench.get1k', { id: 'item-0001', limit: 10 });
    if (!result.ok) throw new Error(result.error.reason);
  };
  const sanity = await gateway.call('bench.get1k', { id: 'item-0001', limit: 10 });
  if (!sanity.ok) throw new Error(`gateway sanity call failed: ${JSON.stringify(sanity.error)}`);

  try {
    // (a/b) throughput
    await runLoad(raw, WARMUP_MS, IN_FLIGHT);
    await runLoad(viaGateway, WARMUP_MS, IN_FLIGHT);
    console.log('\n(a/b) 1 KiB JSON, keep-alive, rounds alternate raw/gateway');
    console.log('round  contender   req/s   p50 ms  p99 ms  CPU µs/call  main-thread µs/call  errors');
    const ratios: number[] = [];
    const rawRps: number[] = [];
    const gwRps: number[] = [];
    const rawCpu: number[] = [];
    const gwCpu: number[] = [];
    const rawMain: number[] = [];
    const gwMain: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      // Odd rounds run raw first, even rounds the gateway first, so drift favours neither.
      const order = round % 2 === 1 ? (['raw', 'gateway'] as const) : (['gateway', 'raw'] as const);
      const results: Partial<Record<(typeof order)[number], RoundResult>> = {};
      for (const name of order) {
        const r = await runLoad(name === 'raw' ? raw : viaGateway, ROUND_MS, IN_FLIGHT);
        results[name] = r;
        console.log(`${pad(round, 5)}  ${name.padEnd(9)} ${pad(fmt(r.reqPerSec, 0), 7)} ${pad(fmt(r.p50Ms, 2), 8)} ${pad(fmt(r.p99Ms, 2), 7)} ${pad(fmt(r.cpuUsPerCall, 0), 12)} ${pad(fmt(r.mainUsPerCall, 0), 20)} ${pad(r.errors, 7)}`);
      }
      const a = results.raw!;
      const b = results.gateway!;
      rawRps.push(a.reqPerSec);
      gwRps.push(b.reqPerSec);
      ratios.push(b.reqPerSec / a.reqPerSec);
      rawCpu.push(a.cpuUsPerCall);
      gwCpu.push(b.cpuUsPerCall);
      rawMain.push(a.mainUsPerCall);
      gwMain.push(b.mainUsPerCall);
    }
    const ratio = median(ratios);
    console.log(`median req/s: raw ${fmt(median(rawRps), 0)}, gateway ${fmt(median(gwRps), 0)}`);
    console.log(`median CPU per call: raw ${fmt(median(rawCpu), 0)} µs, gateway ${fmt(median(gwCpu), 0)} µs (CPU ratio raw/gateway ${fmt(median(rawCpu) / median(gwCpu), 2)})`);
    console.log(`median main-thread CPU per call: raw ${fmt(median(rawMain), 0)} µs, gateway ${fmt(median(gwMain), 0)} µs (ratio raw/gateway ${fmt(median(rawMain) / median(gwMain), 2)})`);
    console.log(`per-round ratios gateway/raw: ${ratios.map((r) => fmt(r, 2)).join(' ')}`);
    console.log(`median ratio gateway/raw: ${fmt(ratio, 2)}  (target >= 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'})`);

    // (c) denial cost
    console.log(`\n(c) time to deny, ${DENY_CALLS} sequential calls each, audit to file on`);
    const unknown = await measureDeny(() => gateway.call('bench.noSuchOperation', {}));
    const notAllowed = await measureDeny(() => gateway.call('bench.get1k', { id: 'item-0001' }, { caller: 'renderer' }));
    for (const [name, r] of [['unknown operation', unknown], ['caller not allowed', notAllowed]] as const) {
      const reason = (JSON.parse(r.outcome) as { error?: { reason?: string } }).error?.reason;
      console.log(`  ${name.padEnd(19)} median ${pad(fmt(r.medianUs, 2), 6)} µs/call  (${reason}; target < 20 µs: ${r.medianUs < 20 ? 'met' : 'NOT met'})`);
    }

    // (d, e) hostile bodies
    console.log(`\n(d/e) ${BIG_CONCURRENCY} concurrent calls, maxResponseBytes 1 MiB (RSS sampled every ms)`);
    for (const [name, operation] of [
      ['1 GiB body, chunked', 'bench.huge'],
      ['gzip bomb (1 GiB)', 'bench.gzipBomb'],
      ['brotli bomb (1 GiB)', 'bench.brBomb'],
    ] as const) {
      const r = await measureBig(gateway, operation);
      const outcomes = [...r.outcomes].map(([k, n]) => `${n}× ${k}`).join(', ');
      const target = name.startsWith('1 GiB') ? `  (target < 64 MiB: ${r.peakRssGrowthMiB < 64 ? 'met' : 'NOT met'})` : '';
      console.log(`  ${name.padEnd(20)} refusal median ${pad(fmt(r.medianMs), 6)} ms, max ${pad(fmt(r.maxMs), 6)} ms; peak RSS growth ${pad(fmt(r.peakRssGrowthMiB), 5)} MiB${target}`);
      console.log(`  ${''.padEnd(20)} outcomes: ${outcomes}`);
    }
  } finally {
    await gateway.close();
    await agent.close();
    child.send({ type: 'stop' });
    await once(child, 'exit');
  }

  const auditBytes = (await stat(auditFile)).size;
  await rm(dataDir, { recursive: true, force: true });
  console.log(`\naudit file: ${(auditBytes / MIB).toFixed(1)} MiB written; total bench time ${fmt((performance.now() - wallStart) / 1000)} s`);
  if (warnings.length > 0) {
    console.log(`process warnings (${warnings.length}):`);
    for (const warning of new Set(warnings)) console.log(`  ${warning}`);
  }
}

await main();
