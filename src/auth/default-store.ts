/**
 * The secret store a gateway uses when none is given: the OS keychain where it works, else an
 * encrypted file in `dataDir` keyed by the passphrase in `GATEHOUSE_SECRET_PASSPHRASE`, else none
 * (every operation rejects with a message saying what to do). Never plaintext. The choice is made
 * on first use and published on `gatehouse:secret-store`.
 * @see FR-03, SR-03, DESIGN.md §2
 */
import { join, resolve } from 'node:path';
import { publishSecretStoreEvent, type SecretStoreEvent } from './credential-events.ts';
import { encryptedFileSecretStore } from './encrypted-file-store.ts';
import { keychainSecretStore } from './keychain-store.ts';
import type { SecretStore } from './secret-store.ts';
import { SecretStoreError } from './secret-store-error.ts';

/** Environment variable holding the passphrase of the fallback encrypted file. */
export const PASSPHRASE_ENV = 'GATEHOUSE_SECRET_PASSPHRASE';

/** Options of {@link defaultSecretStore}. */
export interface DefaultSecretStoreOptions {
  /** The gateway's data folder; the fallback file is `secrets.enc` in it. */
  dataDir: string;
  /** Keychain service name. @default `gatehouse:` + the absolute `dataDir` */
  service?: string;
  /** Where the passphrase is read from. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/** Which backend the default store chose. */
export interface SecretStoreChoice {
  store: SecretStoreEvent['store'];
  /** Why, in a few words. */
  detail: string;
  /** Keychain service or file path. */
  location: string;
}

/** The default store, which can say what it chose. */
export interface DefaultSecretStore extends SecretStore {
  /** Makes (once) and returns the choice. */
  choice(): Promise<SecretStoreChoice>;
}

/** Creates the default store for `dataDir`; nothing is probed until it is first used. */
export function defaultSecretStore(options: DefaultSecretStoreOptions): DefaultSecretStore {
  const dataDir = resolve(options.dataDir);
  const service = options.service ?? `gatehouse:${dataDir}`;
  const env = options.env ?? process.env;
  let chosen: Promise<{ store: SecretStore | undefined; choice: SecretStoreChoice }> | undefined;

  async function choose(): Promise<{ store: SecretStore | undefined; choice: SecretStoreChoice }> {
    const keychain = keychainSecretStore({ service });
    const unusable = await keychain.checkUsable();
    let result: { store: SecretStore | undefined; choice: SecretStoreChoice };
    if (unusable === undefined) {
      result = { store: keychain, choice: { store: 'keychain', detail: 'OS keychain usable', location: service } };
    } else {
      const passphrase = env[PASSPHRASE_ENV];
      const file = join(dataDir, 'secrets.enc');
      if (typeof passphrase === 'string' && passphrase !== '') {
        result = {
          store: encryptedFileSecretStore({ file, passphrase }),
          choice: { store: 'encrypted-file', detail: `OS keychain unusable (${unusable}); passphrase from ${PASSPHRASE_ENV}`, location: file },
        };
      } else {
        result = { store: undefined, choice: { store: 'none', detail: `OS keychain unusable (${unusable}) and ${PASSPHRASE_ENV} is not set`, location: '' } };
      }
    }
    publishSecretStoreEvent({ store: result.choice.store, detail: result.choice.detail });
    return result;
  }

  async function backend(): Promise<SecretStore> {
    chosen ??= choose();
    const { store, choice } = await chosen;
    if (store === undefined) {
      throw new SecretStoreError(
        'store_unusable',
        `no secret store is usable: ${choice.detail}. Set ${PASSPHRASE_ENV} to use an encrypted file in the data folder, or pass \`secrets\` to createGateway`,
      );
    }
    return store;
  }

  return Object.freeze({
    async get(name: string) {
      return (await backend()).get(name);
    },
    async set(name: string, payload: Parameters<SecretStore['set']>[1]) {
      return (await backend()).set(name, payload);
    },
    async delete(name: string) {
      return (await backend()).delete(name);
    },
    async list() {
      return (await backend()).list();
    },
    async choice() {
      chosen ??= choose();
      return (await chosen).choice;
    },
  });
}
