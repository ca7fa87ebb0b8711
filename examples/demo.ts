/**
 * Gatehouse in two minutes: `npm run demo`.
 *
 * Starts a local HTTPS demo API (examples/demo-api.ts) on 127.0.0.1:47443, loads the real policy
 * file examples/demo.policy.yaml, and makes a series of calls that succeed or are refused, printing
 * what happened and why. Finally it prints the audit log the gateway wrote (one line per call).
 *
 * Nothing leaves this machine: demo names (api.demo.test, intranet.demo.test) are resolved by a
 * stub lookup, certificates come from a throwaway CA generated at start, and the one "private"
 * address (10.0.0.5) is refused before any connection is attempted.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { styleText } from 'node:util';
import { createGateway, memorySecretStore, type AuditEvent, type CallOptions, type CallResult, type Gateway } from '../src/index.ts';
import { makeTestPki } from '../test/support/certs.ts';
import { spyConnections } from '../test/support/connect-spy.ts';
import { stubLookup } from '../test/support/lookup.ts';
import { PortBusyError, startDemoApi, type DemoApi } from './demo-api.ts';

/** The port named in demo.policy.yaml (the policy is a real file, so the port is fixed). */
const DEMO_PORT = 47443;
const POLICY_FILE = join(import.meta.dirname, 'demo.policy.yaml');

const useColour = process.stdout.isTTY === true;
type Style = Parameters<typeof styleText>[0];
const paint = (style: Style, text: string): string => (useColour ? styleText(style, text) : text);

/** What one demo step does and how to summarise a success. */
interface Step {
  title: string;
  why: string;
  operation: string;
  params?: unknown;
  options?: CallOptions;
  summarise?: (data: unknown) => string;
  /** Extra lines after the result (e.g. proof that nothing was dialed). */
  after?: (context: StepContext) => string[];
}

interface StepContext {
  result: CallResult;
  elapsedMs: number;
  connectAttempts: number;
  newRequests: DemoApi['seen'];
}

const steps: Step[] = [
  {
    title: 'A forecast (GET with a path param and a query param)',
    why: 'Renderer code names an operation; Gatehouse builds the URL, adds the API key, checks the answer.',
    operation: 'weather.getForecast',
    params: { city: 'Oslo', days: 3 },
    options: { caller: 'renderer' },
    summarise: (data) => {
      const { city, days } = data as { city: string; days: { highC: number; lowC: number; sky: string }[] };
      const first = days[0];
      return `${city}, ${days.length} days; tomorrow ${first?.highC}°C/${first?.lowC}°C ${first?.sky}`;
    },
  },
  {
    title: 'Saving a favourite (POST with a JSON body)',
    why: 'Trusted main-process code (the default caller) sends a validated JSON body.',
    operation: 'weather.saveFavourite',
    params: { body: { city: 'Bergen' } },
    summarise: (data) => `saved ${(data as { saved: string }).saved} as ${(data as { id: string }).id}`,
  },
  {
    title: 'A renderer calling a main-only operation',
    why: 'saveFavourite lists no `callers`, so only trusted main code may run it.',
    operation: 'weather.saveFavourite',
    params: { body: { city: 'Bergen' } },
    options: { caller: 'renderer' },
  },
  {
    title: 'An operation the policy does not define',
    why: 'Deny by default: there is no way to reach an endpoint the policy does not name.',
    operation: 'weather.deleteAllUsers',
    params: {},
  },
  {
    title: 'Invalid params',
    why: 'days must be 1..14 per the operation\'s JSON Schema; nothing is sent.',
    operation: 'weather.getForecast',
    params: { city: 'Oslo', days: 99 },
    options: { caller: 'renderer' },
  },
  {
    title: 'A redirect to a host outside the policy',
    why: 'The API answers 302 to tracker.elsewhere.test; Gatehouse follows redirects itself and refuses the hop.',
    operation: 'weather.openPartnerLink',
  },
  {
    title: 'An intranet name that resolves to a private address',
    why: 'intranet.demo.test resolves to 10.0.0.5; the DNS answer is checked before dialing (SSRF guard).',
    operation: 'intranet.findPerson',
    params: { name: 'ada' },
    options: { caller: 'renderer' },
    after: ({ connectAttempts, newRequests }) => {
      const refusedBeforeDialing = connectAttempts === 0 && newRequests.length === 0;
      if (!refusedBeforeDialing) process.exitCode = 1; // CI runs the demo: this must never happen
      return [`${connectAttempts} TCP connection attempts, ${newRequests.length} requests reached a server: ${refusedBeforeDialing ? 'refused before dialing' : 'NOT refused before dialing'}`];
    },
  },
  {
    title: 'An oversized response',
    why: 'The export streams 8 MiB; the operation allows 64 KiB, so reading stops at the cap.',
    operation: 'weather.exportHistory',
  },
  {
    title: 'A server that never answers',
    why: 'getAlerts has timeoutMs: 1000; the call ends on its deadline instead of hanging.',
    operation: 'weather.getAlerts',
    after: ({ elapsedMs }) => [`ended after ${Math.round(elapsedMs)} ms`],
  },
  {
    title: 'A service in maintenance (503)',
    why: 'Upstream errors become stable kinds; Retry-After is passed on so the UI can wait.',
    operation: 'weather.getStatus',
  },
];

await main();

async function main(): Promise<void> {
  const pki = await makeTestPki();
  const tls = await pki.issue(['api.demo.test', 'intranet.demo.test', 'localhost', '127.0.0.1']);

  let api: DemoApi;
  try {
    api = await startDemoApi(DEMO_PORT, tls);
  } catch (error) {
    if (!(error instanceof PortBusyError)) throw error;
    console.error(
      `The demo needs port ${DEMO_PORT} on 127.0.0.1, but it is in use (another demo still running?).\n` +
        `Free the port, or change it in both ${relative(process.cwd(), POLICY_FILE)} and examples/demo.ts.`,
    );
    process.exitCode = 1;
    return;
  }

  const dataDir = await mkdtemp(join(tmpdir(), 'gatehouse-demo-'));
  const auditFile = join(dataDir, 'audit.jsonl');
  let gateway: Gateway | undefined;
  try {
    gateway = await createGateway({
      policy: POLICY_FILE,
      dataDir,
      secrets: memorySecretStore({ 'demo-weather-key': { key: 'demo-key-0123456789' } }),
      audit: { file: auditFile },
      network: {
        // Stub DNS: demo names map to addresses chosen here; nothing else resolves.
        lookup: stubLookup({ 'api.demo.test': ['127.0.0.1'], 'intranet.demo.test': ['10.0.0.5'] }),
        ca: [pki.caPem], // trust the throwaway demo CA (like an enterprise root)
        proxy: 'none',
      },
    });

    console.log(paint('bold', 'Gatehouse demo'));
    console.log(`  policy  ${relative(process.cwd(), POLICY_FILE)}`);
    console.log(`  API     https://api.demo.test:${DEMO_PORT}  (served on 127.0.0.1, names resolved by a stub lookup)`);
    console.log(`  audit   ${auditFile}`);

    for (const [index, step] of steps.entries()) await runStep(gateway, api, step, index + 1);
  } finally {
    await gateway?.close(); // flushes the audit file
    await api.close();
  }

  printAudit(await readFile(auditFile, 'utf8'));
  await rm(dataDir, { recursive: true, force: true });
}

async function runStep(gateway: Gateway, api: DemoApi, step: Step, number: number): Promise<void> {
  console.log();
  console.log(paint('bold', `${String(number).padStart(2)}. ${step.title}`));
  console.log(paint('dim', `    ${step.why}`));
  const caller = step.options?.caller ?? 'main';
  const params = step.params === undefined ? '' : ` ${JSON.stringify(step.params)}`;
  console.log(`    ${label('call')}${step.operation}${params}  as ${caller}`);

  const seenBefore = api.seen.length;
  const spy = spyConnections();
  const started = performance.now();
  let result: CallResult;
  try {
    result = await gateway.call(step.operation, step.params, step.options);
  } finally {
    spy.dispose();
  }
  const context: StepContext = {
    result,
    elapsedMs: performance.now() - started,
    connectAttempts: spy.count,
    newRequests: api.seen.slice(seenBefore),
  };

  if (result.ok) {
    const summary = step.summarise?.(result.data) ?? JSON.stringify(result.data).slice(0, 80);
    console.log(`    ${label('result')}${paint('green', 'ok')} ${result.status}  ${summary}`);
    for (const request of context.newRequests) {
      const key = request.hasApiKey ? 'X-Api-Key attached by Gatehouse' : 'no credential';
      console.log(`    ${label('server')}${request.method} ${request.url}  (${key})`);
    }
  } else {
    const { kind, reason, retryable, retryAfterMs, status } = result.error;
    const facts = [`retryable: ${retryable}`];
    if (status !== undefined) facts.push(`status: ${status}`);
    if (retryAfterMs !== undefined) facts.push(`retryAfterMs: ${retryAfterMs}`);
    console.log(`    ${label('result')}${paint('yellow', `${kind} / ${reason ?? '-'}`)}  ${facts.join(', ')}`);
    console.log(`    ${label('message')}${paint('dim', result.error.message)}`);
  }
  for (const line of step.after?.(context) ?? []) console.log(`    ${label('note')}${line}`);
}

function label(text: string): string {
  return paint('cyan', text.padEnd(8));
}

/** The audit log, one compact line per call (the file holds one JSON object per line). */
function printAudit(text: string): void {
  const events = text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditEvent);
  console.log();
  console.log(paint('bold', `Audit log: ${events.length} events (no params, bodies, header values or secrets)`));
  const header = ['time', 'caller', 'operation', 'method', 'path template', 'outcome', 'status', 'ms', 'in B'];
  const rows = events.map((event) => [
    event.time.slice(11, 23),
    event.caller,
    event.operation,
    event.method || '-',
    event.pathTemplate || '-',
    event.reason === undefined ? event.outcome : `${event.outcome}/${event.reason}`,
    event.status === undefined ? '-' : String(event.status),
    event.durationMs.toFixed(1),
    String(event.bytesIn),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (row: string[]): string => '  ' + row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  console.log(paint('dim', format(header)));
  for (const row of rows) console.log(format(row));
  console.log();
  console.log(paint('dim', 'Each line above is one JSON object in the audit file; e.g. the first:'));
  console.log(paint('dim', `  ${JSON.stringify(events[0])}`));
}
