import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safeStorageSecretStore, type SafeStorageLike } from '../src/hosts/electron/safe-storage-store.ts';
import { isSecretStoreError } from '../src/auth/secret-store-error.ts';

/** Stands in for Electron's safeStorage (Electron cannot run here): AES-GCM under a per-"user" key. */
function standInSafeStorage(backend: string, available = true): SafeStorageLike {
  const key = randomBytes(32);
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString(text) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ct]);
    },
    decryptString(data) {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(12, 28));
      return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

describe('safeStorageSecretStore (Electron, FR-03)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-ss-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('stores payloads encrypted, in a 0600 file, and reads them back', async () => {
    const file = join(dir, 'secrets.json');
    const store = safeStorageSecretStore({ safeStorage: standInSafeStorage('gnome_libsecret'), file });
    await store.set('weather-key', { key: 'ss-secret-value' });
    assert.deepEqual(await store.get('weather-key'), { key: 'ss-secret-value' });
    assert.deepEqual(await store.list(), ['weather-key']);
    assert.ok(!(await readFile(file, 'utf8')).includes('ss-secret-value'));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await store.delete('weather-key');
    assert.equal(await store.get('weather-key'), undefined);
  });

  it('refuses the basic_text backend unless allowed', async () => {
    const file = join(dir, 'basic.json');
    const refused = safeStorageSecretStore({ safeStorage: standInSafeStorage('basic_text'), file });
    await assert.rejects(refused.set('x', { token: 't' }), (e: unknown) => isSecretStoreError(e) && e.code === 'store_unusable' && /basic_text/.test(e.message));
    const allowed = safeStorageSecretStore({ safeStorage: standInSafeStorage('basic_text'), file, allowBasicText: true });
    await allowed.set('x', { token: 't' });
    assert.deepEqual(await allowed.get('x'), { token: 't' });
    const unavailable = safeStorageSecretStore({ safeStorage: standInSafeStorage('kwallet', false), file });
    await assert.rejects(unavailable.get('x'), /not available/);
  });

  it('detects a ciphertext moved to another name, and tampering', async () => {
    const file = join(dir, 'moved.json');
    const store = safeStorageSecretStore({ safeStorage: standInSafeStorage('kwallet5'), file });
    await store.set('admin', { token: 'admin-secret' });
    await store.set('guest', { token: 'guest-secret' });
    const body = JSON.parse(await readFile(file, 'utf8'));
    body.entries.guest = body.entries.admin;
    await writeFile(file, JSON.stringify(body));
    await assert.rejects(store.get('guest'), (e: unknown) => isSecretStoreError(e) && e.code === 'integrity_failure');
    const bytes = Buffer.from(body.entries.admin, 'base64');
    bytes[bytes.length - 1]! ^= 1;
    body.entries.admin = bytes.toString('base64');
    await writeFile(file, JSON.stringify(body));
    await assert.rejects(store.get('admin'), (e: unknown) => isSecretStoreError(e) && e.code === 'integrity_failure');
  });
});
