import { rootCertificates } from 'node:tls';
import { Agent, request } from 'undici';
import { API_KEY, startBenchServer } from './bench-setup.ts';

const server = await startBenchServer();
const agent = new Agent({ allowH2: false, connect: { ca: [...rootCertificates, server.caPem] } });
const origin = `https://127.0.0.1:${server.port}`;
const rawUrl = `${origin}/v1/items/item-0001?limit=10`;
const raw = async () => {
  const r = await request(rawUrl, { dispatcher: agent, headers: { 'x-api-key': API_KEY, accept: 'application/json' } });
  JSON.parse(await r.body.text());
};
function dispatchOnce(): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let status = 0; let size = 0;
    agent.dispatch({ origin, path: '/v1/items/item-0001?limit=10', method: 'GET', headers: { 'x-api-key': API_KEY, accept: 'application/json' } }, {
      onRequestStart() {},
      onResponseStart(_c: unknown, s: number) { status = s; },
      onResponseData(_c: unknown, chunk: Buffer) { chunks.push(chunk); size += chunk.length; },
      onResponseEnd() { resolve({ status, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }); },
      onResponseError(_c: unknown, e: Error) { reject(e); },
    } as any);
  });
}
const disp = async () => { const r = await dispatchOnce(); JSON.parse(r.body.toString('utf8')); };
async function load(fn: () => Promise<void>, ms: number) {
  const c0 = process.cpuUsage(); const end = performance.now() + ms; let n = 0;
  await Promise.all(Array.from({ length: 64 }, async () => { while (performance.now() < end) { await fn(); n++; } }));
  const c = process.cpuUsage(c0); return { rps: n / (ms / 1000), cpu: (c.user + c.system) / n };
}
await load(raw, 1000); await load(disp, 1000);
for (let i = 0; i < 4; i++) {
  const a = await load(raw, 2000), b = await load(disp, 2000);
  console.log(`raw ${a.rps.toFixed(0)} ${a.cpu.toFixed(0)}us  dispatch ${b.rps.toFixed(0)} ${b.cpu.toFixed(0)}us ratio ${(b.rps / a.rps).toFixed(2)}`);
}
await agent.close(); server.child.send({ type: 'stop' });
