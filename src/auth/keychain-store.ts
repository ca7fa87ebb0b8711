/**
 * A secret store in the OS keychain: one keychain item per secret (account `secret:NAME`), plus
 * an index item (account `index`) listing the names, because keychains cannot be enumerated
 * portably. Values are JSON payloads; nothing is cached in memory, so a value changed by another
 * process (the CLI) is seen by the next `get`.
 * @see FR-03, SR-03, FIELD-NOTES "Credentials and storage"
 */
import { deleteKeychain, probeKeychain, readKeychain, writeKeychain } from './keychain-access.ts';
import { checkSecretName, decodePayload, encodePayload } from './payload-codec.ts';
import type { SecretStore } from './secret-store.ts';
import { SecretStoreError } from './secret-store-error.ts';
import { serialQueue } from './keyed-queue.ts';

/** Options of {@link keychainSecretStore}. */
export interface KeychainStoreOptions {
  /** The keychain service name the items are filed under, e.g. your app's id. */
  service: string;
}

/** A keychain-backed store that can say whether the keychain works here. */
export interface KeychainSecretStore extends SecretStore {
  readonly kind: 'keychain';
  readonly service: string;
  /**
   * Writes, reads back and deletes a probe item. Resolves undefined when the keychain is usable,
   * else a short reason (no Secret Service, locked keyring, ...). Never throws.
   */
  checkUsable(): Promise<string | undefined>;
  /** `checkUsable()` as a boolean. */
  isUsable(): Promise<boolean>;
}

const INDEX_ACCOUNT = 'index';

/**
 * Creates a store in the OS keychain (macOS Keychain, Windows Credential Manager, Linux Secret
 * Service via D-Bus). Operations reject with a `SecretStoreError` (`store_unusable`) when the
 * keychain cannot be reached; call `isUsable()` first to choose another store.
 * @example const secrets = keychainSecretStore({ service: 'com.example.app' });
 */
export function keychainSecretStore(options: KeychainStoreOptions): KeychainSecretStore {
  const service = options?.service;
  if (typeof service !== 'string' || service.length === 0) {
    throw new SecretStoreError('invalid_argument', 'keychainSecretStore needs a non-empty service name');
  }
  // Index updates are read-modify-write: serialise them within this process.
  const serial = serialQueue();

  async function readIndex(): Promise<string[]> {
    const text = await readKeychain(service, INDEX_ACCOUNT);
    if (text === undefined) return [];
    try {
      const names: unknown = JSON.parse(text);
      if (Array.isArray(names) && names.every((n) => typeof n === 'string')) return names as string[];
    } catch {
      // fall through
    }
    throw new SecretStoreError('corrupt', `the keychain index of '${service}' is not a list of names`);
  }

  async function writeIndex(names: Iterable<string>): Promise<void> {
    await writeKeychain(service, INDEX_ACCOUNT, JSON.stringify([...new Set(names)].sort()));
  }

  return Object.freeze({
    kind: 'keychain' as const,
    service,
    async get(name: string) {
      checkSecretName(name);
      const text = await readKeychain(service, `secret:${name}`);
      return text === undefined ? undefined : decodePayload(text, name);
    },
    async set(name: string, payload: Parameters<SecretStore['set']>[1]) {
      checkSecretName(name);
      const text = encodePayload(payload);
      return serial(async () => {
        // Value first, then the index: a crash in between leaves an unlisted item, never a listed
        // name without a value.
        await writeKeychain(service, `secret:${name}`, text);
        const names = await readIndex();
        if (!names.includes(name)) await writeIndex([...names, name]);
      });
    },
    async delete(name: string) {
      checkSecretName(name);
      return serial(async () => {
        await deleteKeychain(service, `secret:${name}`);
        const names = await readIndex();
        if (names.includes(name)) await writeIndex(names.filter((n) => n !== name));
      });
    },
    list() {
      return serial(readIndex);
    },
    checkUsable: () => probeKeychain(service),
    async isUsable() {
      return (await probeKeychain(service)) === undefined;
    },
  });
}
