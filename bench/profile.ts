/**
 * Where `gateway.call` spends its CPU and allocates its memory, per call — for performance work,
 * not a benchmark (run `npm run bench` for ratios). Prints CPU µs per call, then the functions with
 * the most self time and the most bytes allocated per call (collected objects included).
 *
 * Run:   node bench/profile.ts            (Node 24; about 15 s)
 * Tune:  PROFILE_MS=4000 PROFILE_TOP=25 node bench/profile.ts
 */
import { mkdtemp } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Gateway } from '../src/index.ts';
import { createBenchGateway, startBenchServer } from './bench-setup.ts';

const MS = Number(process.env.PROFILE_MS) || 4000;
const TOP = Number(process.env.PROFILE_TOP) || 20;
const IN_FLIGHT = 64;

interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}

const label = (frame: Frame): string =>
  `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}`;

async function load(gateway: Gateway, ms: number): Promise<{ calls: number; cpuUsPerCall: number }> {
  const end = performance.now() + ms;
  const cpu = process.cpuUsage();
  let calls = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const result = await gateway.call('bench.get1k', { id: 'item-0001', limit: 10 });
      if (!result.ok) throw new Error(`call failed: ${result.error.kind}/${result.error.reason}`);
      calls += 1;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const used = process.cpuUsage(cpu);
  return { calls, cpuUsPerCall: (used.user + used.system) / calls };
}

function printTop(title: string, totals: Map<string, number>, calls: number, unit: string): void {
  console.log(`\n${title}`);
  for (const [name, total] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, TOP)) {
    console.log(`${(total / calls).toFixed(1).padStart(9)} ${unit}  ${name}`);
  }
}

const server = await startBenchServer();
const gateway = await createBenchGateway(server, await mkdtemp(join(tmpdir(), 'gatehouse-profile-')));
const session = new Session();
session.connect();
try {
  await load(gateway, 1500); // warm-up: JIT, connections
  const plain = await load(gateway, MS);
  console.log(`gateway.call: ${plain.cpuUsPerCall.toFixed(1)} µs CPU per call (${plain.calls} calls, ${IN_FLIGHT} in flight)`);

  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  const cpuRun = await load(gateway, MS);
  const { profile } = await session.post('Profiler.stop');
  const selfUs = new Map<string, number>();
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  profile.samples?.forEach((id, i) => {
    const name = label(nodes.get(id)!.callFrame);
    selfUs.set(name, (selfUs.get(name) ?? 0) + (profile.timeDeltas?.[i] ?? 0));
  });
  printTop('self time (µs per call, sampled; the profiler adds overhead)', selfUs, cpuRun.calls, 'µs');

  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  } as never);
  const heapRun = await load(gateway, MS);
  const { profile: heap } = await session.post('HeapProfiler.stopSampling');
  const bytes = new Map<string, number>();
  let total = 0;
  const walk = (node: typeof heap.head): void => {
    bytes.set(label(node.callFrame), (bytes.get(label(node.callFrame)) ?? 0) + node.selfSize);
    total += node.selfSize;
    node.children.forEach(walk);
  };
  walk(heap.head);
  console.log(`\nallocated: ${(total / heapRun.calls).toFixed(0)} bytes per call`);
  printTop('allocation (bytes per call)', bytes, heapRun.calls, 'B ');
} finally {
  session.disconnect();
  await gateway.close();
  server.child.kill();
}
