/**
 * A secret store for Electron apps, encrypted with Electron's `safeStorage` (macOS Keychain,
 * Windows DPAPI, Linux kwallet/libsecret) into one file written atomically with mode 0600.
 * Imports nothing from `electron`: the app passes its `safeStorage` object in. On Linux without
 * a keyring, `safeStorage` falls back to `basic_text` (a fixed, public key: obfuscation only);
 * this store refuses it unless the app sets `allowBasicText: true` deliberately.
 * @see FR-03, SR-03, FIELD-NOTES "Credentials and storage"
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from '../../auth/atomic-file.ts';
import { checkSecretName, decodePayload, encodePayload } from '../../auth/payload-codec.ts';
import type { CredentialPayload, SecretStore } from '../../auth/secret-store.ts';
import { SecretStoreError } from '../../auth/secret-store-error.ts';
import { serialQueue } from '../../auth/keyed-queue.ts';

/** The part of Electron's `safeStorage` this store uses. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only in Electron: `basic_text`, `gnome_libsecret`, `kwallet`, ... */
  getSelectedStorageBackend?(): string;
}

/** Options of {@link safeStorageSecretStore}. */
export interface SafeStorageStoreOptions {
  /** Electron's `safeStorage` (main process, after `app.whenReady()`). */
  safeStorage: SafeStorageLike;
  /** Path of the file, e.g. `path.join(app.getPath('userData'), 'gatehouse-secrets.json')`. */
  file: string;
  /**
   * Accept Linux's `basic_text` backend, whose key is public: secrets are then only obfuscated.
   * @default false
   */
  allowBasicText?: boolean;
}

/**
 * Creates a store encrypted by Electron `safeStorage`. Operations reject with a
 * `SecretStoreError` (`store_unusable`) when encryption is unavailable or the backend is
 * `basic_text` and not allowed.
 * @example safeStorageSecretStore({ safeStorage, file: join(app.getPath('userData'), 'secrets.json') })
 */
export function safeStorageSecretStore(options: SafeStorageStoreOptions): SecretStore {
  const { safeStorage } = options;
  if (typeof safeStorage?.encryptString !== 'function' || typeof options.file !== 'string' || options.file === '') {
    throw new SecretStoreError('invalid_argument', 'safeStorageSecretStore needs safeStorage and a file');
  }
  const file = resolve(options.file);
  const serial = serialQueue();

  function checkUsable(): void {
    if (!safeStorage.isEncryptionAvailable()) {
      throw new SecretStoreError('store_unusable', 'Electron safeStorage encryption is not available (call after app ready)');
    }
    const backend = safeStorage.getSelectedStorageBackend?.();
    if (backend === 'basic_text' && options.allowBasicText !== true) {
      throw new SecretStoreError('store_unusable', 'Electron safeStorage uses the basic_text backend (no keyring): refused; set allowBasicText to accept obfuscation only');
    }
  }

  async function read(): Promise<Map<string, string>> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw error;
    }
    let body: { format?: unknown; entries?: unknown } | undefined;
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      body = undefined;
    }
    if (body?.format !== 'gatehouse-safe-storage' || typeof body.entries !== 'object' || body.entries === null) {
      throw new SecretStoreError('corrupt', `secret file ${file} is not a Gatehouse safeStorage file`);
    }
    return new Map(Object.entries(body.entries as Record<string, string>));
  }

  async function write(entries: Map<string, string>): Promise<void> {
    await writeFileAtomic(file, `${JSON.stringify({ format: 'gatehouse-safe-storage', version: 1, entries: Object.fromEntries(entries) })}\n`);
  }

  function open(name: string, sealed: string): CredentialPayload {
    let text: string;
    try {
      text = safeStorage.decryptString(Buffer.from(sealed, 'base64'));
    } catch (cause) {
      throw new SecretStoreError('integrity_failure', `secret '${name}' in ${file} could not be decrypted (tampered, or another user's key)`, { cause });
    }
    // safeStorage has no associated data: the name is sealed inside, and checked here.
    const parsed = decodePayload(text, name) as unknown as { n?: unknown; p?: unknown };
    if (parsed.n !== name || typeof parsed.p !== 'string') throw new SecretStoreError('integrity_failure', `secret '${name}' in ${file} belongs to another name`);
    return decodePayload(parsed.p, name);
  }

  return Object.freeze({
    async get(name: string) {
      checkSecretName(name);
      checkUsable();
      const sealed = (await read()).get(name);
      return sealed === undefined ? undefined : open(name, sealed);
    },
    async set(name: string, payload: CredentialPayload) {
      checkSecretName(name);
      const text = encodePayload(payload);
      checkUsable();
      const sealed = safeStorage.encryptString(JSON.stringify({ n: name, p: text })).toString('base64');
      return serial(async () => {
        const entries = await read();
        entries.set(name, sealed);
        await write(entries);
      });
    },
    async delete(name: string) {
      checkSecretName(name);
      return serial(async () => {
        const entries = await read();
        if (entries.delete(name)) await write(entries);
      });
    },
    async list() {
      return [...(await read()).keys()];
    },
  });
}
