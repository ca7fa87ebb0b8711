/**
 * `gatehouse types`: the JSON Schema -> TypeScript conversion, the generated operations map, and
 * the point of it all — `tsc` accepts a correct client call and rejects a wrong param.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import ts from 'typescript';
import { schemaToTs } from '../src/client/schema-to-ts.ts';
import { typesCommand } from '../src/cli/types-command.ts';

const POLICY = fileURLToPath(new URL('../examples/electron-app/gatehouse.policy.yaml', import.meta.url));
const CLIENT = fileURLToPath(new URL('../src/client/index.ts', import.meta.url));

describe('schemaToTs', () => {
  it('converts the subset policies use', () => {
    assert.equal(schemaToTs({ type: 'string' }), 'string');
    assert.equal(schemaToTs({ type: 'integer' }), 'number');
    assert.equal(schemaToTs({ type: ['string', 'null'] }), 'string | null');
    assert.equal(schemaToTs({ enum: ['a', 'b"c', 1, null] }), '"a" | "b\\"c" | 1 | null');
    assert.equal(schemaToTs({ const: 'x' }), '"x"');
    assert.equal(schemaToTs({ anyOf: [{ type: 'string' }, { type: 'number' }] }), 'string | number');
    assert.equal(schemaToTs({ oneOf: [{ const: 1 }, { const: 2 }] }), '1 | 2');
    assert.equal(schemaToTs({ type: 'array', items: { type: 'string' } }), 'string[]');
    assert.equal(schemaToTs({ type: 'array' }), 'unknown[]');
    assert.equal(schemaToTs({ type: 'object', additionalProperties: false }), 'Record<string, never>');
    assert.equal(schemaToTs({ type: 'object', additionalProperties: { type: 'number' } }), '{\n  [key: string]: number;\n}');
    assert.equal(
      schemaToTs({ type: 'object', properties: { 'a-b': { type: 'string' }, c: { type: 'boolean' } }, required: ['a-b'], additionalProperties: false }),
      '{\n  "a-b": string;\n  c?: boolean;\n}',
    );
  });

  it('falls back to unknown for what it does not model', () => {
    for (const schema of [{ $ref: '#/x' }, { not: {} }, {}, true, undefined, { type: 'weird' }, { anyOf: [{}, { type: 'string' }] }, { const: { a: 1 } }]) {
      assert.equal(schemaToTs(schema), 'unknown', JSON.stringify(schema));
    }
    assert.equal(schemaToTs(false), 'never');
  });

  it('never lets schema text become code', () => {
    const hostile = { type: 'object', properties: { 'x; } declare const y: any; {': { const: '*/ evil' } }, required: [], additionalProperties: false };
    const type = schemaToTs(hostile);
    const source = `type T = ${type};`;
    const parsed = ts.createSourceFile('t.ts', source, ts.ScriptTarget.ES2022);
    assert.equal(parsed.statements.length, 1);
  });

  it('stops at a depth limit', () => {
    let schema: object = { type: 'string' };
    for (let i = 0; i < 100; i++) schema = { type: 'array', items: schema };
    assert.match(schemaToTs(schema), /unknown/);
  });
});

describe('gatehouse types', () => {
  let dir: string;
  const lines: string[] = [];
  const output = { out: (line: string) => lines.push(line), err: (line: string) => lines.push(line) };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-types-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the operations map of a policy', async () => {
    assert.equal(await typesCommand(POLICY, join(dir, 'operations.ts'), output), 0);
    const source = await readFile(join(dir, 'operations.ts'), 'utf8');
    assert.match(source, /export interface Operations/);
    assert.match(source, /"weather.getForecast": \{\n {4}params: \{\n {6}city: string;\n {6}days\?: number;/);
    assert.match(source, /unit\?: "celsius" \| "fahrenheit"/);
  });

  it('prints to standard output without -o, and reports an invalid policy with exit code 1', async () => {
    lines.length = 0;
    assert.equal(await typesCommand(POLICY, undefined, output), 0);
    assert.match(lines.join('\n'), /export type OperationId/);
    lines.length = 0;
    await writeFile(join(dir, 'bad.yaml'), 'version: 1\nservices: { x: { baseUrl: "http://a.example" } }\n');
    assert.equal(await typesCommand(join(dir, 'bad.yaml'), join(dir, 'never.ts'), output), 1);
    assert.ok(lines.length > 0);
  });

  it('the example app types are up to date with its policy', async () => {
    lines.length = 0;
    await typesCommand(POLICY, undefined, output);
    const committed = await readFile(new URL('../examples/electron-app/operations.ts', import.meta.url), 'utf8');
    assert.equal(committed.trimEnd(), lines.join('\n').trimEnd());
  });

  it('tsc accepts a correct client call and rejects wrong params and unknown operations', async () => {
    await typesCommand(POLICY, join(dir, 'operations.ts'), output);
    const usage = (body: string) => `import type { Operations } from './operations.ts';
import { createClient, type GatehouseBridge } from ${JSON.stringify(CLIENT)};
declare const bridge: GatehouseBridge;
const client = createClient<Operations>(bridge);
export async function run(): Promise<void> {
${body}
}
`;
    const good = `  const result = await client.call('weather.getForecast', { city: 'Oslo', days: 3 });
  if (result.ok) { const first: string | undefined = result.data.days[0]?.summary; void first; }
  else { const kind: string = result.error.kind; void kind; }
  await client.call('weather.saveFavourite', { favourite: { city: 'Oslo', unit: 'celsius' } }, { idempotencyKey: 'k1' });
  await client.call('weather.exportHistory');`;
    const wrong = {
      'wrong param name': `await client.call('weather.getForecast', { town: 'Oslo' });`,
      'wrong param type': `await client.call('weather.getForecast', { city: 42 });`,
      'missing required param': `await client.call('weather.getForecast', {});`,
      'missing params': `await client.call('weather.getForecast');`,
      'unknown operation': `await client.call('weather.deleteEverything', {});`,
      'wrong enum value': `await client.call('weather.saveFavourite', { favourite: { city: 'x', unit: 'kelvin' } });`,
      'wrong result use': `const r = await client.call('weather.getForecast', { city: 'x' }); if (r.ok) { const n: number = r.data.city; void n; }`,
    };
    const diagnosticsFor = async (name: string, body: string) => {
      const file = join(dir, `${name}.ts`);
      await writeFile(file, usage(body));
      const program = ts.createProgram([file], {
        strict: true,
        noEmit: true,
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.NodeNext,
        moduleResolution: ts.ModuleResolutionKind.NodeNext,
        allowImportingTsExtensions: true,
        skipLibCheck: true,
        types: [],
        lib: ['lib.es2023.d.ts', 'lib.dom.d.ts'],
      });
      return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    };
    assert.deepEqual(await diagnosticsFor('good', good), []);
    for (const [name, body] of Object.entries(wrong)) {
      const diagnostics = await diagnosticsFor(name.replaceAll(' ', '-'), body);
      assert.ok(diagnostics.length > 0, `tsc should reject: ${name}`);
    }
  });
});
