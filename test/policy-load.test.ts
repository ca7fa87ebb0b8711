// Loading policy files safely, with line:column in every error (DESIGN.md §3, FIELD-NOTES.md).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { checkPolicyFile, loadPolicy, MAX_POLICY_FILE_BYTES } from '../src/policy/load.ts';
import { isPolicyError } from '../src/policy/policy-error.ts';
import type { PolicyError, PolicyIssue } from '../src/policy/policy-error.ts';

const FIXTURES = 'test/fixtures/policy';
const MINIMAL = 'version: 1\nservices:\n  s:\n    baseUrl: https://api.example\n    rationale: r\n';
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gatehouse-policy-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function writeTemp(name: string, text: string | Uint8Array): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, text);
  return file;
}

async function loadError(source: string | object): Promise<PolicyError> {
  try {
    await loadPolicy(source);
  } catch (error) {
    assert.ok(isPolicyError(error), `expected a PolicyError, got ${String(error)}`);
    return error;
  }
  assert.fail('the policy was accepted');
}

function issueAt(error: PolicyError, path: string): PolicyIssue {
  const issue = error.issues.find((i) => i.path === path);
  assert.ok(issue, `no issue at ${path}; got:\n${error.message}`);
  return issue;
}

describe('loading files', () => {
  it('loads the DESIGN.md §3 example from YAML', async () => {
    const policy = await loadPolicy(`${FIXTURES}/design-example.yaml`);
    assert.deepEqual([...policy.operations.keys()], ['weather.getForecast', 'weather.saveFavourite']);
    assert.equal(policy.services.get('weather')?.limits.timeoutMs, 8000);
  });

  it('loads the same policy from JSON', async () => {
    const { readFile } = await import('node:fs/promises');
    const value: unknown = parse(await readFile(`${FIXTURES}/design-example.yaml`, 'utf8'));
    const file = await writeTemp('design.json', JSON.stringify(value, null, 2));
    const policy = await loadPolicy(file);
    assert.equal(policy.operations.size, 2);
  });

  it('resolves a relative path against baseDir', async () => {
    await writeTemp('minimal.yml', MINIMAL);
    const policy = await loadPolicy('minimal.yml', { baseDir: dir });
    assert.equal(policy.services.size, 1);
  });

  it('loads an already-parsed object, with paths but no positions in errors', async () => {
    const error = await loadError({ version: 1, services: { s: { baseUrl: 'http://x.example', rationale: 'r' } } });
    const issue = issueAt(error, 'services.s.baseUrl');
    assert.equal(issue.line, undefined);
    assert.match(error.message, /^services\.s\.baseUrl: must use https/m);
  });

  it('returns no issues from checkPolicyFile for a valid file', async () => {
    assert.deepEqual(await checkPolicyFile(`${FIXTURES}/design-example.yaml`), []);
  });
});

describe('positions in errors', () => {
  it('gives line:column of the offending key in a YAML file', async () => {
    const file = `${FIXTURES}/bad-baseurl.yaml`;
    const error = await loadError(file);
    assert.deepEqual({ ...issueAt(error, 'services.weather.baseUrl') }, {
      path: 'services.weather.baseUrl', line: 4, column: 5, message: issueAt(error, 'services.weather.baseUrl').message,
    });
    const path = issueAt(error, 'services.weather.operations.getForecast.path');
    assert.deepEqual([path.line, path.column], [7, 35]);
    assert.match(error.message, /^test\/fixtures\/policy\/bad-baseurl\.yaml:4:5 services\.weather\.baseUrl: must use https/m);
  });

  it('gives line:column in a JSON file, array items included', async () => {
    const error = await loadError(`${FIXTURES}/bad-baseurl.json`);
    const baseUrl = issueAt(error, 'services.weather.baseUrl');
    assert.deepEqual([baseUrl.line, baseUrl.column], [5, 7]);
    const rule = issueAt(error, 'services.weather.requests[0].path');
    assert.deepEqual([rule.line, rule.column], [8, 31]);
  });

  it('points a missing key at its parent', async () => {
    const file = await writeTemp('missing.yaml', 'version: 1\nservices:\n  weather:\n    baseUrl: https://x.example\n');
    const issue = issueAt(await loadError(file), 'services.weather.rationale');
    assert.deepEqual([issue.line, issue.column, issue.message], [3, 3, 'is required']);
  });

  it('gives line:column of an unknown key', async () => {
    const file = await writeTemp('typo.yaml', `${MINIMAL}    alowHttpLoopback: true\n`);
    const issue = issueAt(await loadError(file), 'services.s.alowHttpLoopback');
    assert.deepEqual([issue.line, issue.column], [6, 5]);
    assert.match(issue.message, /unknown key/);
  });

  it('gives the position of a YAML syntax error', async () => {
    const file = await writeTemp('syntax.yaml', 'version: 1\nservices: {\n  a: [1, 2\n');
    const error = await loadError(file);
    assert.ok(error.issues[0]?.line !== undefined, error.message);
  });
});

describe('hostile files', () => {
  it('refuses duplicate keys', async () => {
    const file = await writeTemp('dup.yaml', `${MINIMAL}    rationale: again\n`);
    const error = await loadError(file);
    assert.match(error.message, /unique/);
    assert.deepEqual([error.issues[0]?.line, error.issues[0]?.column], [6, 5]);
  });

  it('checks 30,000 keys in linear time, a duplicate among them still found with its position', async () => {
    const keys = Array.from({ length: 30_000 }, (_, i) => `k${i}: 1\n`).join('');
    const file = await writeTemp('many.yaml', `${MINIMAL}${keys}k7: again\n`);
    const started = performance.now();
    const error = await loadError(file);
    const elapsed = performance.now() - started;
    assert.match(error.message, /unique/);
    assert.equal(error.issues[0]?.line, MINIMAL.split('\n').length + 30_000);
    assert.ok(elapsed < 5000, `took ${elapsed.toFixed(0)} ms (the quadratic checks took 8-13 s)`);
    const unknown = await loadError(await writeTemp('many-unknown.yaml', `${MINIMAL}${keys}`));
    assert.equal(unknown.issues.length, 30_000, 'every unknown key is reported, each with its line');
    assert.equal(unknown.issues.at(-1)?.line, MINIMAL.split('\n').length + 29_999);
  });

  it('refuses a key that is not a plain name', async () => {
    const file = await writeTemp('complex-key.yaml', `${MINIMAL}? [a, b]\n: 1\n`);
    assert.match((await loadError(file)).message, /plain names/);
  });

  it('refuses duplicate keys in a JSON file', async () => {
    const file = await writeTemp('dup.json', '{"version": 1, "version": 1, "services": {}}');
    assert.match((await loadError(file)).message, /unique/);
  });

  it('refuses the !!js/function tag', async () => {
    const file = await writeTemp('tag.yaml', `${MINIMAL}    owner: !!js/function "function () { return 1 }"\n`);
    const error = await loadError(file);
    assert.match(error.message, /tag/i);
    assert.equal(error.issues[0]?.line, 6);
  });

  it('refuses an unknown local tag', async () => {
    const file = await writeTemp('local-tag.yaml', `${MINIMAL}    owner: !secret x\n`);
    assert.match((await loadError(file)).message, /tag/i);
  });

  it('refuses an alias bomb (billion laughs) quickly', async () => {
    let text = 'a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
    for (let i = 1; i < 10; i++) text += `a${i}: &a${i} [${Array.from({ length: 10 }, () => `*a${i - 1}`).join(', ')}]\n`;
    const file = await writeTemp('bomb.yaml', `${text}version: *a9\n`);
    const started = performance.now();
    const error = await loadError(file);
    assert.ok(performance.now() - started < 1000, 'took too long');
    assert.match(error.message, /alias/i);
  });

  it('refuses a file over 1 MiB without parsing it', async () => {
    const file = await writeTemp('big.yaml', `${MINIMAL}#${'x'.repeat(MAX_POLICY_FILE_BYTES)}\n`);
    assert.match((await loadError(file)).message, /larger than 1048576 bytes/);
  });

  it('refuses a file that is not UTF-8', async () => {
    const file = await writeTemp('latin1.yaml', Buffer.from([...Buffer.from(MINIMAL), 0x23, 0xff, 0x0a]));
    assert.match((await loadError(file)).message, /UTF-8/);
  });

  it('refuses several documents in one file', async () => {
    const file = await writeTemp('multi.yaml', `${MINIMAL}---\n${MINIMAL}`);
    assert.match((await loadError(file)).message, /one document/);
  });

  it('does not treat << as a merge key', async () => {
    const file = await writeTemp('merge.yaml', `${MINIMAL}    <<: { allowHttpLoopback: true }\n`);
    issueAt(await loadError(file), 'services.s.<<');
  });

  it('refuses __proto__ as a service id in YAML', async () => {
    const file = await writeTemp('proto.yaml', `${MINIMAL}  __proto__:\n    baseUrl: https://x.example\n    rationale: r\n`);
    const issue = issueAt(await loadError(file), 'services.__proto__');
    assert.equal(issue.line, 6);
    assert.equal(({} as Record<string, unknown>).baseUrl, undefined);
  });

  it('refuses a file with another extension', async () => {
    const file = await writeTemp('policy.txt', MINIMAL);
    assert.match((await loadError(file)).message, /\.yaml, \.yml or \.json/);
  });

  it('says so when the file does not exist', async () => {
    const error = await loadError(join(dir, 'absent.yaml'));
    assert.match(error.message, /absent\.yaml: file not found/);
  });

  it('refuses a directory', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'dir.yaml'));
    assert.match((await loadError(join(dir, 'dir.yaml'))).message, /not a regular file/);
  });

  it('refuses a FIFO at once instead of waiting for a writer', { skip: process.platform === 'win32' }, async () => {
    const { execFileSync } = await import('node:child_process');
    const fifo = join(dir, 'fifo.yaml');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    assert.match((await loadError(fifo)).message, /not a regular file/);
    assert.ok(performance.now() - started < 1000);
  });
});
