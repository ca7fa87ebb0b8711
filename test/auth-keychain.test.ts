/**
 * Keychain stores against a real Secret Service. Runs for real inside `.ci/with-keyring` (a D-Bus
 * session with an unlocked gnome-keyring); skipped with the reason otherwise.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keychainSecretStore } from '../src/auth/keychain-store.ts';
import { encryptedFileSecretStore } from '../src/auth/encrypted-file-store.ts';
import { deleteKeychain, readKeychain } from '../src/auth/keychain-access.ts';
import { sealEntry } from '../src/auth/secret-envelope.ts';
import { isSecretStoreError } from '../src/auth/secret-store-error.ts';
import { skipUnlessCi } from './support/required-service.ts';

const service = `gatehouse-test-${randomBytes(4).toString('hex')}`;
const unusable = await keychainSecretStore({ service }).checkUsable();
const skip = skipUnlessCi(unusable === undefined ? undefined : `no usable Secret Service here (${unusable}); run under .ci/with-keyring`);

describe('keychainSecretStore against the real Secret Service (FR-03)', { skip }, () => {
  before(async () => {
    assert.equal(await keychainSecretStore({ service }).isUsable(), true);
  });

  it('stores, lists (through its index item), rotates and deletes payloads', async () => {
    const store = keychainSecretStore({ service });
    assert.deepEqual(await store.list(), []);
    assert.equal(await store.get('weather-key'), undefined);
    await store.set('weather-key', { key: 'kc-secret-1' });
    await store.set('crm', { clientId: 'c', clientSecret: 'kc-secret-2' });
    assert.deepEqual(await store.get('weather-key'), { key: 'kc-secret-1' });
    assert.deepEqual(await store.list(), ['crm', 'weather-key']);
    // Another instance (another process, in real life) sees a rotated value at once.
    await keychainSecretStore({ service }).set('weather-key', { key: 'kc-secret-3' });
    assert.deepEqual(await store.get('weather-key'), { key: 'kc-secret-3' });
    await store.delete('crm');
    await store.delete('crm');
    assert.deepEqual(await store.list(), ['weather-key']);
    assert.equal(await store.get('crm'), undefined);
    await store.delete('weather-key');
    assert.deepEqual(await store.list(), []);
  });

  it('concurrent sets keep every name in the index', async () => {
    const store = keychainSecretStore({ service });
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.set(`n${i}`, { token: `t${i}` })));
    assert.deepEqual(await store.list(), Array.from({ length: 8 }, (_, i) => `n${i}`));
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.delete(`n${i}`)));
    assert.deepEqual(await store.list(), []);
  });

  it('an encrypted file store can keep its master key in the keychain', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-kc-'));
    try {
      const file = join(dir, 'secrets.enc');
      const store = encryptedFileSecretStore({ file, keychainService: service });
      await store.set('x', { token: 'kc-file-secret' });
      assert.deepEqual(await encryptedFileSecretStore({ file, keychainService: service }).get('x'), { token: 'kc-file-secret' });
      assert.ok(!(await readFile(file, 'utf8')).includes('kc-file-secret'));
      // Without its key the file cannot be read, and nothing wrong is returned.
      await deleteKeychain(service, 'encrypted-file-key');
      await assert.rejects(encryptedFileSecretStore({ file, keychainService: service }).get('x'), (e: unknown) => isSecretStoreError(e) && e.code === 'integrity_failure');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('an entry moved between two files sharing the keychain key fails; a file from before file ids still works', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gatehouse-kc-'));
    try {
      const [one, two] = [join(dir, 'one.enc'), join(dir, 'two.enc')];
      await encryptedFileSecretStore({ file: one, keychainService: service }).set('api', { token: 'token-of-file-one' });
      await encryptedFileSecretStore({ file: two, keychainService: service }).set('api', { token: 'token-of-file-two' });
      const [bodyOne, bodyTwo] = [JSON.parse(await readFile(one, 'utf8')), JSON.parse(await readFile(two, 'utf8'))];
      assert.notEqual(bodyOne.kdf.fileId, bodyTwo.kdf.fileId);
      bodyTwo.entries.api = bodyOne.entries.api;
      await writeFile(two, JSON.stringify(bodyTwo));
      const isIntegrityFailure = (e: unknown): boolean => isSecretStoreError(e) && e.code === 'integrity_failure';
      await assert.rejects(encryptedFileSecretStore({ file: two, keychainService: service }).get('api'), isIntegrityFailure);
      // Nor can a file borrow another's id: its own check no longer opens.
      bodyTwo.kdf.fileId = bodyOne.kdf.fileId;
      await writeFile(two, JSON.stringify(bodyTwo));
      await assert.rejects(encryptedFileSecretStore({ file: two, keychainService: service }).get('api'), isIntegrityFailure);

      // A file written before file ids (entries bound to their name only) is still read and written.
      const master = Buffer.from((await readKeychain(service, 'encrypted-file-key'))!, 'base64');
      const legacy = join(dir, 'legacy.enc');
      const entries = { old: sealEntry(master, 'old', JSON.stringify({ token: 'legacy-token' })) };
      await writeFile(legacy, JSON.stringify({ format: 'gatehouse-secrets', version: 1, kdf: { name: 'keychain' }, check: sealEntry(master, '\u0000check', 'gatehouse'), entries }));
      const legacyStore = encryptedFileSecretStore({ file: legacy, keychainService: service });
      assert.deepEqual(await legacyStore.get('old'), { token: 'legacy-token' });
      await legacyStore.set('new', { token: 'new-token' });
      assert.deepEqual(await encryptedFileSecretStore({ file: legacy, keychainService: service }).get('new'), { token: 'new-token' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('keychainSecretStore without a Secret Service', () => {
  it('reports itself unusable instead of throwing, and its operations reject with store_unusable', async (t) => {
    const env = { ...process.env, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/gatehouse-bus' };
    const { spawnSync } = await import('node:child_process');
    const script = `
      import { keychainSecretStore } from ${JSON.stringify(new URL('../src/auth/keychain-store.ts', import.meta.url).href)};
      const store = keychainSecretStore({ service: 'gatehouse-absent' });
      const usable = await store.isUsable();
      let code = 'none';
      try { await store.set('x', { token: 'never-stored' }); } catch (e) { code = e.code; }
      console.log(JSON.stringify({ usable, code }));`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env, encoding: 'utf8' });
    if (process.platform !== 'linux') return t.skip('Linux only');
    assert.deepEqual(JSON.parse(result.stdout.trim()), { usable: false, code: 'store_unusable' }, result.stderr);
  });
});
