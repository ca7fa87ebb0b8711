import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptedFileSecretStore } from '../src/auth/encrypted-file-store.ts';
import { isSecretStoreError } from '../src/auth/secret-store-error.ts';

const PASSPHRASE = 'correct horse battery staple';

describe('encryptedFileSecretStore (SR-03, DESIGN.md §5 "Durable stores")', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-enc-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores, lists and deletes payloads; the file is mode 0600 and holds no plaintext', async () => {
    const file = join(dir, 'a', 'secrets.enc');
    const store = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
    assert.equal(await store.get('weather-key'), undefined);
    const started = performance.now();
    await store.set('weather-key', { key: 'plain-text-visible-secret' });
    const firstSetMs = performance.now() - started;
    await store.set('crm', { clientId: 'id-1', clientSecret: 'cs-1' });
    assert.deepEqual(await store.get('weather-key'), { key: 'plain-text-visible-secret' });
    assert.deepEqual((await store.list()).sort(), ['crm', 'weather-key']);
    await store.delete('crm');
    assert.deepEqual(await store.list(), ['weather-key']);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'a'))).mode & 0o777, 0o700);
    const raw = await readFile(file, 'utf8');
    assert.ok(!raw.includes('plain-text-visible-secret'));
    assert.ok(!raw.includes(PASSPHRASE));
    assert.deepEqual(await readdir(join(dir, 'a')), ['secrets.enc'], 'no temp file left behind');
    console.log(`# scrypt (N=2^17, r=8) + first set: ${firstSetMs.toFixed(0)} ms`);
  });

  it('a new value set by another instance is seen by the next get (rotation, no restart)', async () => {
    const file = join(dir, 'rotate.enc');
    const a = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
    const b = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
    await a.set('token', { token: 'one' });
    assert.deepEqual(await b.get('token'), { token: 'one' });
    await a.set('token', { token: 'two' });
    assert.deepEqual(await b.get('token'), { token: 'two' });
  });

  it('a wrong passphrase never yields a value: get throws integrity_failure', async () => {
    const file = join(dir, 'wrong.enc');
    await encryptedFileSecretStore({ file, passphrase: PASSPHRASE }).set('x', { token: 'secret-x' });
    const wrong = encryptedFileSecretStore({ file, passphrase: 'not the passphrase' });
    await assert.rejects(wrong.get('x'), (error: unknown) => {
      assert.ok(isSecretStoreError(error));
      assert.equal(error.code, 'integrity_failure');
      assert.match(error.message, /wrong key or passphrase/);
      assert.ok(!error.message.includes('secret-x'));
      return true;
    });
    await assert.rejects(wrong.set('y', { token: 'z' }), /wrong key or passphrase/);
  });

  it('detects a tampered ciphertext, tag or IV', async () => {
    const file = join(dir, 'tamper.enc');
    const store = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
    await store.set('x', { token: 'secret-x' });
    const original = await readFile(file, 'utf8');
    for (const field of ['ct', 'tag', 'iv', 's'] as const) {
      const body = JSON.parse(original);
      const bytes = Buffer.from(body.entries.x[field], 'base64');
      bytes[0]! ^= 0x01;
      body.entries.x[field] = bytes.toString('base64');
      await writeFile(file, JSON.stringify(body));
      await assert.rejects(store.get('x'), (error: unknown) => isSecretStoreError(error) && error.code === 'integrity_failure', field);
    }
  });

  it('detects a ciphertext moved to another name (the name is bound as AAD)', async () => {
    const file = join(dir, 'aad.enc');
    const store = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
    await store.set('admin', { token: 'admin-secret' });
    await store.set('guest', { token: 'guest-secret' });
    const body = JSON.parse(await readFile(file, 'utf8'));
    body.entries.guest = body.entries.admin;
    await writeFile(file, JSON.stringify(body));
    await assert.rejects(store.get('guest'), (error: unknown) => isSecretStoreError(error) && error.code === 'integrity_failure');
    assert.deepEqual(await store.get('admin'), { token: 'admin-secret' });
  });

  it('refuses a file that is not a secret file, and doctored key derivation parameters', async () => {
    const file = join(dir, 'garbage.enc');
    await writeFile(file, 'not json');
    await assert.rejects(encryptedFileSecretStore({ file, passphrase: PASSPHRASE }).get('x'), (e: unknown) => isSecretStoreError(e) && e.code === 'corrupt');
    const good = join(dir, 'doctored.enc');
    await encryptedFileSecretStore({ file: good, passphrase: PASSPHRASE }).set('x', { token: 't' });
    const body = JSON.parse(await readFile(good, 'utf8'));
    body.kdf.N = 2 ** 30;
    await writeFile(good, JSON.stringify(body));
    await assert.rejects(encryptedFileSecretStore({ file: good, passphrase: PASSPHRASE }).get('x'), (e: unknown) => isSecretStoreError(e) && e.code === 'corrupt');
  });

  it('refuses scrypt parameters above what it writes (N 2^18, r 8, p 1) at once, without deriving', async () => {
    const file = join(dir, 'costly.enc');
    await encryptedFileSecretStore({ file, passphrase: PASSPHRASE }).set('x', { token: 't' });
    const original = await readFile(file, 'utf8');
    // N=2^20, r=16, p=4 was accepted before: about 2 GiB and many seconds of scrypt per open.
    for (const params of [{ N: 2 ** 20, r: 16, p: 4 }, { N: 2 ** 19 }, { r: 16 }, { p: 2 }]) {
      const body = JSON.parse(original);
      Object.assign(body.kdf, params);
      await writeFile(file, JSON.stringify(body));
      const started = performance.now();
      await assert.rejects(encryptedFileSecretStore({ file, passphrase: PASSPHRASE }).get('x'), (e: unknown) => isSecretStoreError(e) && e.code === 'corrupt');
      assert.ok(performance.now() - started < 250, `refused ${JSON.stringify(params)} only after deriving`);
    }
  });

  it('refuses payloads that are not objects of strings, and unsafe names', async () => {
    const store = encryptedFileSecretStore({ file: join(dir, 'args.enc'), passphrase: PASSPHRASE });
    await assert.rejects(store.set('x', { token: 1 } as never), /object of strings/);
    await assert.rejects(async () => store.set('bad\nname', { token: 't' }), /control characters/);
    await store.set('__proto__', { token: 'p' });
    assert.deepEqual(await store.get('__proto__'), { token: 'p' });
    assert.deepEqual(await store.list(), ['__proto__']);
  });

  it('survives a process SIGKILLed mid-write: every resolved set() is readable, the file never corrupt', async () => {
    const file = join(dir, 'crash.enc');
    for (let round = 0; round < 3; round++) {
      const acknowledged = await runWriterAndKill(file, 15 + round * 10);
      const store = encryptedFileSecretStore({ file, passphrase: PASSPHRASE });
      // The last acknowledged write of each key must be there, or a later one.
      const latest = new Map<string, number>();
      for (const i of acknowledged) latest.set(`k${i % 40}`, i);
      for (const [name, i] of latest) {
        const payload = (await store.get(name)) as { token: string } | undefined;
        assert.ok(payload !== undefined, `${name} lost`);
        assert.ok(Number(payload.token.slice('value-'.length)) >= i, `${name} went back in time`);
      }
    }
  });
});

/** Spawns the writer, waits for `count` acknowledged writes, SIGKILLs it; returns the acknowledged indices. */
function runWriterAndKill(file: string, count: number): Promise<number[]> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'support', 'secret-writer.ts')], {
    env: { ...process.env, GATEHOUSE_TEST_FILE: file, GATEHOUSE_TEST_PASSPHRASE: PASSPHRASE },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acknowledged: number[] = [];
  let buffered = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) acknowledged.push(Number(line));
      // Kill at a random moment after enough writes: very likely mid-write.
      if (acknowledged.length >= count && !child.killed) setTimeout(() => child.kill('SIGKILL'), Math.random() * 5);
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(acknowledged);
      else reject(new Error(`writer exited with ${code}`));
    });
  });
}
