/**
 * A secret store in one encrypted file: AES-256-GCM per secret (see secret-envelope.ts), the
 * master key derived from a passphrase with scrypt or kept in the OS keychain (one key per
 * keychain service, so each such file has a random id bound into its entries). The file (mode
 * 0600) is replaced atomically on every change, so a kill never corrupts it or loses a `set()`
 * that resolved. It is read again on every `get`, so a value rotated by another process (the
 * CLI) is used by the next call. One process should write a given file at a time.
 * @see FR-03, SR-03, DESIGN.md §5 "Durable stores"
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { readKeychain, writeKeychain } from './keychain-access.ts';
import { checkSecretName, decodePayload, encodePayload } from './payload-codec.ts';
import {
  DEFAULT_SCRYPT,
  checkScryptParams,
  deriveKeyFromPassphrase,
  openEntry,
  sealEntry,
  type SealedEntry,
} from './secret-envelope.ts';
import type { CredentialPayload, SecretStore } from './secret-store.ts';
import { SecretStoreError } from './secret-store-error.ts';
import { serialQueue } from './keyed-queue.ts';

/** Options of {@link encryptedFileSecretStore}: a passphrase, or a keychain service holding the key. */
export type EncryptedFileStoreOptions =
  | { /** Path of the encrypted file. */ file: string; /** Master key = scrypt(passphrase). */ passphrase: string }
  | { file: string; /** A random master key is kept in the OS keychain under this service. */ keychainService: string };

/** The file-backed store. */
export interface EncryptedFileSecretStore extends SecretStore {
  readonly kind: 'encrypted-file';
  /** Absolute path of the file. */
  readonly file: string;
}

/**
 * How the master key is found. A keychain key is shared by every file using the same service:
 * `fileId` (random, bound into the AAD of the check and of every entry) keeps an entry of one such
 * file from being accepted in another. Files written before it have none and are still read.
 */
type Kdf = { name: 'scrypt'; salt: string; N: number; r: number; p: number } | { name: 'keychain'; fileId?: string };

interface FileContents {
  kdf: Kdf;
  /** A constant sealed under the master key: detects a wrong passphrase/key before any entry. */
  check: SealedEntry;
  entries: Map<string, SealedEntry>;
}

const FORMAT = 'gatehouse-secrets';
const CHECK_NAME = '\u0000check';
const CHECK_TEXT = 'gatehouse';
const KEY_ACCOUNT = 'encrypted-file-key';
const FILE_ID = /^[A-Za-z0-9_-]{22}$/;

function fileIdOf(kdf: Kdf): string | undefined {
  return kdf.name === 'keychain' ? kdf.fileId : undefined;
}

/**
 * Creates a store in an encrypted file.
 * @example encryptedFileSecretStore({ file: '.gatehouse/secrets.enc', passphrase: process.env.GATEHOUSE_SECRET_PASSPHRASE! })
 * @example encryptedFileSecretStore({ file: '.gatehouse/secrets.enc', keychainService: 'com.example.app' })
 */
export function encryptedFileSecretStore(options: EncryptedFileStoreOptions): EncryptedFileSecretStore {
  const file = typeof options?.file === 'string' && options.file !== '' ? resolve(options.file) : undefined;
  if (file === undefined) throw new SecretStoreError('invalid_argument', 'encryptedFileSecretStore needs a file path');
  const passphrase = 'passphrase' in options ? options.passphrase : undefined;
  const keychainService = 'keychainService' in options ? options.keychainService : undefined;
  if (passphrase !== undefined && (typeof passphrase !== 'string' || passphrase.length === 0)) {
    throw new SecretStoreError('invalid_argument', 'the passphrase must be a non-empty string');
  }
  if (passphrase === undefined && (typeof keychainService !== 'string' || keychainService === '')) {
    throw new SecretStoreError('invalid_argument', 'encryptedFileSecretStore needs a passphrase or a keychainService');
  }
  const where = `secret file ${file}`;
  // Master keys by their KDF header, so a file recreated elsewhere with a new salt is handled.
  const keys = new Map<string, Promise<Buffer>>();
  const serial = serialQueue();

  async function read(): Promise<FileContents | undefined> {
    let text: string;
    try {
      text = await readFile(file!, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return parseFile(text, where);
  }

  async function deriveMaster(kdf: Kdf, create: boolean): Promise<Buffer> {
    if (kdf.name === 'scrypt') {
      if (passphrase === undefined) throw new SecretStoreError('store_unusable', `${where} needs a passphrase`);
      return deriveKeyFromPassphrase(passphrase, Buffer.from(kdf.salt, 'base64'), checkScryptParams(kdf, where));
    }
    if (keychainService === undefined) throw new SecretStoreError('store_unusable', `${where} needs its key from the OS keychain`);
    const stored = await readKeychain(keychainService, KEY_ACCOUNT);
    if (stored !== undefined) return Buffer.from(stored, 'base64');
    if (!create) throw new SecretStoreError('integrity_failure', `${where}: its key is missing from the OS keychain`);
    const key = randomBytes(32);
    await writeKeychain(keychainService, KEY_ACCOUNT, key.toString('base64'));
    return key;
  }

  function masterFor(contents: FileContents, create: boolean): Promise<Buffer> {
    const id = JSON.stringify(contents.kdf);
    let key = keys.get(id);
    if (key === undefined) {
      key = deriveMaster(contents.kdf, create).then((master) => {
        if (openEntry(master, CHECK_NAME, contents.check, `${where} (key check)`, fileIdOf(contents.kdf)) !== CHECK_TEXT) {
          throw new SecretStoreError('integrity_failure', `${where}: wrong key or passphrase`);
        }
        return master;
      });
      keys.set(id, key);
      key.catch(() => keys.delete(id));
    }
    return key;
  }

  async function fresh(): Promise<{ contents: FileContents; master: Buffer }> {
    const kdf: Kdf =
      passphrase !== undefined
        ? { name: 'scrypt', salt: randomBytes(16).toString('base64'), ...DEFAULT_SCRYPT }
        : { name: 'keychain', fileId: randomBytes(16).toString('base64url') };
    const master = await deriveMaster(kdf, true);
    const contents = { kdf, check: sealEntry(master, CHECK_NAME, CHECK_TEXT, fileIdOf(kdf)), entries: new Map() };
    keys.set(JSON.stringify(kdf), Promise.resolve(master));
    return { contents, master };
  }

  async function write(contents: FileContents): Promise<void> {
    const body = { format: FORMAT, version: 1, kdf: contents.kdf, check: contents.check, entries: Object.fromEntries(contents.entries) };
    await writeFileAtomic(file!, `${JSON.stringify(body, null, 1)}\n`);
  }

  return Object.freeze({
    kind: 'encrypted-file' as const,
    file,
    async get(name: string): Promise<CredentialPayload | undefined> {
      checkSecretName(name);
      const contents = await read();
      if (contents === undefined) return undefined;
      const master = await masterFor(contents, false);
      const entry = contents.entries.get(name);
      return entry === undefined ? undefined : decodePayload(openEntry(master, name, entry, `${where}, secret '${name}'`, fileIdOf(contents.kdf)), name);
    },
    async set(name: string, payload: CredentialPayload): Promise<void> {
      checkSecretName(name);
      const text = encodePayload(payload);
      return serial(async () => {
        const existing = await read();
        const { contents, master } = existing === undefined ? await fresh() : { contents: existing, master: await masterFor(existing, false) };
        contents.entries.set(name, sealEntry(master, name, text, fileIdOf(contents.kdf)));
        await write(contents);
      });
    },
    async delete(name: string): Promise<void> {
      checkSecretName(name);
      return serial(async () => {
        const contents = await read();
        if (contents === undefined || !contents.entries.has(name)) return;
        // Only a holder of the key may change the file.
        await masterFor(contents, false);
        contents.entries.delete(name);
        await write(contents);
      });
    },
    async list(): Promise<string[]> {
      const contents = await read();
      return contents === undefined ? [] : [...contents.entries.keys()];
    },
  });
}

function parseFile(text: string, where: string): FileContents {
  let body: Record<string, unknown> | undefined;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  if (body === undefined || body === null || body.format !== FORMAT || body.version !== 1) {
    throw new SecretStoreError('corrupt', `${where} is not a Gatehouse secret file (version 1)`);
  }
  const kdf = body.kdf as Kdf | undefined;
  const entries = body.entries;
  const kdfOk =
    (kdf?.name === 'keychain' && (kdf.fileId === undefined || (typeof kdf.fileId === 'string' && FILE_ID.test(kdf.fileId)))) ||
    (kdf?.name === 'scrypt' && typeof kdf.salt === 'string');
  if (!kdfOk || typeof entries !== 'object' || entries === null || Array.isArray(entries)) {
    throw new SecretStoreError('corrupt', `${where} has a malformed header`);
  }
  return { kdf: kdf!, check: body.check as SealedEntry, entries: new Map(Object.entries(entries as Record<string, SealedEntry>)) };
}
