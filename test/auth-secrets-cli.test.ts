import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptedFileSecretStore } from '../src/auth/encrypted-file-store.ts';

const MAIN = join(import.meta.dirname, '..', 'src', 'cli', 'main.ts');
const PASSPHRASE = 'cli test passphrase';

describe('gatehouse secrets (CLI, FR-03)', () => {
  let dir: string;
  // No Secret Service for these runs: the CLI falls back to the encrypted file, as a gateway would.
  let env: NodeJS.ProcessEnv;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
    env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus', GATEHOUSE_SECRET_PASSPHRASE: PASSPHRASE };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  function cli(args: string[], input = '', extraEnv: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
    return spawnSync(process.execPath, [MAIN, 'secrets', '--data-dir', dir, ...args], { input, env: { ...env, ...extraEnv }, encoding: 'utf8' });
  }

  it('status names the store and whether it is usable', () => {
    const ok = cli(['status']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /store: (encrypted-file|keychain)/);
    assert.match(ok.stdout, /usable: yes/);
    const none = cli(['status'], '', { GATEHOUSE_SECRET_PASSPHRASE: '' });
    if (/store: none/.test(none.stdout)) {
      assert.equal(none.status, 1);
      assert.match(none.stdout, /usable: no/);
      assert.match(none.stdout, /GATEHOUSE_SECRET_PASSPHRASE is not set/);
    }
  });

  it('set reads the value from stdin (raw for one-field types, JSON otherwise) and never prints it', async () => {
    const raw = cli(['set', 'weather-key', '--type', 'apiKey'], 'cli-raw-key-123\n');
    assert.equal(raw.status, 0, raw.stderr);
    assert.ok(!raw.stdout.includes('cli-raw-key-123') && !raw.stderr.includes('cli-raw-key-123'));
    const json = cli(['set', 'crm', '--type', 'oauth2ClientCredentials'], '{"clientId":"id-1","clientSecret":"cli-secret-456"}');
    assert.equal(json.status, 0, json.stderr);
    const store = encryptedFileSecretStore({ file: join(dir, 'secrets.enc'), passphrase: PASSPHRASE });
    assert.deepEqual(await store.get('weather-key'), { key: 'cli-raw-key-123' });
    assert.deepEqual(await store.get('crm'), { clientId: 'id-1', clientSecret: 'cli-secret-456' });
    assert.ok(!(await readFile(join(dir, 'secrets.enc'), 'utf8')).includes('cli-secret-456'));
    const list = cli(['list']);
    assert.deepEqual(list.stdout.trim().split('\n'), ['crm', 'weather-key']);
  });

  it('refuses a value in argv, malformed input and unknown types without echoing them', () => {
    const argv = cli(['set', 'weather-key', 'argv-secret-789']);
    assert.notEqual(argv.status, 0);
    assert.ok(!argv.stdout.includes('argv-secret-789'));
    const bad = cli(['set', 'crm', '--type', 'oauth2ClientCredentials'], '{"clientId":"x","clientSecret":"bad-secret-000"');
    assert.equal(bad.status, 1);
    assert.ok(!bad.stderr.includes('bad-secret-000'));
    assert.match(bad.stderr, /not a JSON object/);
    const missing = cli(['set', 'crm', '--type', 'basic'], '{"username":"u"}');
    assert.match(missing.stderr, /missing field 'password'/);
    assert.equal(cli(['set', 'x', '--type', 'nope'], 'v').status, 1);
  });

  it('set refuses extra arguments and unknown options without printing them, and stores nothing', async () => {
    const secret = 'argv-secret-4711';
    for (const args of [['set', 'leak', secret], ['set', 'leak', '--type', 'apiKey', secret], ['set', 'leak', `--value=${secret}`], ['set', `--value=${secret}`, 'leak'], ['set', 'leak', `--type=${secret}`]]) {
      const run = cli(args, 'from-stdin');
      assert.equal(run.status, 1, args.join(' '));
      assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `echoed by: ${args.join(' ')}`);
    }
    assert.match(cli(['set', 'leak', secret]).stderr, /takes only the credential name/);
    assert.ok(!cli(['list']).stdout.includes('leak'));
  });

  it('delete removes a name', () => {
    assert.equal(cli(['delete', 'weather-key']).status, 0);
    assert.deepEqual(cli(['list']).stdout.trim().split('\n'), ['crm']);
  });
});
