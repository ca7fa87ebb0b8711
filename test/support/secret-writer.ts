/**
 * A child process for the crash test: writes secrets to an encrypted file store in a loop and
 * prints each index once its `set()` has resolved. The parent SIGKILLs it mid-write.
 * Env: GATEHOUSE_TEST_FILE, GATEHOUSE_TEST_PASSPHRASE.
 */
import { encryptedFileSecretStore } from '../../src/auth/encrypted-file-store.ts';

const store = encryptedFileSecretStore({ file: process.env.GATEHOUSE_TEST_FILE!, passphrase: process.env.GATEHOUSE_TEST_PASSPHRASE! });
for (let i = 0; ; i++) {
  await store.set(`k${i % 40}`, { token: `value-${i}` });
  process.stdout.write(`${i}\n`);
}
