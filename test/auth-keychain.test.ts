/**
 * Keychain stores against a real Secret Service. Runs for real inside `.ci/with-keyring` (a D-Bus
 * session with an unlocked gnome-keyring); skipped with the reason otherwise.
 */
import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keychainSecretStore } from '../src/auth/keychain-store.ts';
import { encryptedFileSecretStore } from '../src/auth/encrypted-file-store.ts';
import { deleteKeychain } from '../src/auth/keychain-access.ts';
import { isSecretStoreError } from '../src/auth/secret-store-error.ts';

const service = `gatehouse-test-${randomBytes(4).toString('hex')}`;
const unusable = await keychainSecretStore({ service }).checkUsable();
const skip = unusable === undefined ? false : `no usable Secret Service here (${unusable}); run under .ci/with-keyring`;

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
