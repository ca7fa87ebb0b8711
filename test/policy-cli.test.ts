// `gatehouse policy check` and `gatehouse policy schema`, run as a child process.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { basePolicy } from './fixtures/policy/base-policy.ts';

const NODE = 'node_modules/.bin/node';
const FIXTURES = 'test/fixtures/policy';

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(NODE, ['src/cli/main.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('gatehouse policy check', () => {
  it('exits 0 and summarises a valid policy', async () => {
    const file = `${FIXTURES}/design-example.yaml`;
    const { code, stdout, stderr } = await gatehouse('policy', 'check', file);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, `${file}: ok — 1 service, 2 operations\n`);
    assert.match(stderr, /credentials\.crm-oauth is not used by any service/);
  });

  it('exits 1 and prints each issue as FILE:line:col path: message', async () => {
    const file = `${FIXTURES}/bad-baseurl.yaml`;
    const { code, stdout, stderr } = await gatehouse('policy', 'check', file);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    const lines = stderr.trim().split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^test\/fixtures\/policy\/bad-baseurl\.yaml:4:5 services\.weather\.baseUrl: must use https/);
    assert.match(lines[1] ?? '', /^test\/fixtures\/policy\/bad-baseurl\.yaml:7:35 services\.weather\.operations\.getForecast\.path: /);
  });

  it('exits 1 without a stack trace for a missing file', async () => {
    const { code, stderr } = await gatehouse('policy', 'check', 'no-such-policy.yaml');
    assert.equal(code, 1);
    assert.equal(stderr, 'no-such-policy.yaml: file not found\n');
  });

  it('exits non-zero on an unknown command', async () => {
    const { code, stderr } = await gatehouse('policy', 'frobnicate');
    assert.notEqual(code, 0);
    assert.doesNotMatch(stderr, /\n\s+at /);
  });
});

describe('gatehouse policy schema', () => {
  async function schemaValidator() {
    const { code, stdout } = await gatehouse('policy', 'schema');
    assert.equal(code, 0);
    const schema = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    return new Ajv2020({ strict: false }).compile(schema);
  }

  it('prints a JSON Schema that accepts the DESIGN.md §3 example', async () => {
    const validate = await schemaValidator();
    const example: unknown = parse(await readFile(`${FIXTURES}/design-example.yaml`, 'utf8'));
    assert.equal(validate(example), true, JSON.stringify(validate.errors));
    assert.equal(validate(basePolicy()), true, JSON.stringify(validate.errors));
  });

  it('prints a JSON Schema that refuses typos and missing rationales', async () => {
    const validate = await schemaValidator();
    const typo = basePolicy();
    typo.services.weather.baseURL = typo.services.weather.baseUrl;
    assert.equal(validate(typo), false);
    const noRationale = basePolicy();
    delete noRationale.services.weather.rationale;
    assert.equal(validate(noRationale), false);
    const dotted = basePolicy();
    dotted.services['a.b'] = dotted.services.weather;
    assert.equal(validate(dotted), false);
  });
});
