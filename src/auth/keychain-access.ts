/**
 * Thin access to the OS keychain (macOS Keychain, Windows Credential Manager, Linux Secret
 * Service) through `@napi-rs/keyring`, loaded lazily so that a platform without it only fails
 * when a keychain is actually used. Every failure becomes a {@link SecretStoreError} whose
 * message holds no value.
 * @internal
 */
import { randomBytes } from 'node:crypto';
import type { AsyncEntry } from '@napi-rs/keyring';
import { SecretStoreError } from './secret-store-error.ts';

type AsyncEntryClass = typeof AsyncEntry;
let entryClass: Promise<AsyncEntryClass> | undefined;

function loadEntryClass(): Promise<AsyncEntryClass> {
  entryClass ??= import('@napi-rs/keyring').then(
    (module) => module.AsyncEntry,
    (cause: unknown) => {
      entryClass = undefined;
      throw new SecretStoreError('store_unusable', 'the OS keychain module (@napi-rs/keyring) cannot load here', { cause });
    },
  );
  return entryClass;
}

async function withEntry<T>(service: string, account: string, run: (entry: InstanceType<AsyncEntryClass>) => Promise<T>): Promise<T> {
  const AsyncEntry = await loadEntryClass();
  try {
    // On Linux, pin the Secret Service: the keyring's fallback (the kernel keyring) forgets
    // everything at logout or reboot, which a secret store must not do.
    return await run(new AsyncEntry(service, account, { linux: { store: 'secret-service' } }));
  } catch (cause) {
    throw new SecretStoreError('store_unusable', `the OS keychain failed (${describe(cause)})`, { cause });
  }
}

// The keyring's messages name the platform failure ("Couldn't access platform storage: ..."),
// never the stored value; keep only the first line, shortened.
function describe(cause: unknown): string {
  const message = cause instanceof Error ? cause.message : String(cause);
  return message.split('\n')[0]!.slice(0, 160);
}

/** The value under (service, account), or undefined. */
export function readKeychain(service: string, account: string): Promise<string | undefined> {
  return withEntry(service, account, async (entry) => (await entry.getPassword()) ?? undefined);
}

/** Stores `value` under (service, account), replacing any. */
export function writeKeychain(service: string, account: string, value: string): Promise<void> {
  return withEntry(service, account, (entry) => entry.setPassword(value));
}

/** Removes (service, account); true when something was there. */
export function deleteKeychain(service: string, account: string): Promise<boolean> {
  return withEntry(service, account, (entry) => entry.deleteCredential());
}

/**
 * Whether the keychain works here: writes, reads back and deletes a probe item. (Reading alone
 * is not enough: without a Secret Service a read answers "nothing there".)
 * @returns undefined when usable, else a short reason.
 */
export async function probeKeychain(service: string): Promise<string | undefined> {
  const account = `probe:${randomBytes(6).toString('hex')}`;
  const value = randomBytes(12).toString('base64');
  try {
    await writeKeychain(service, account, value);
    const back = await readKeychain(service, account);
    await deleteKeychain(service, account);
    return back === value ? undefined : 'the keychain did not keep a value';
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
