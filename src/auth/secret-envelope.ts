/**
 * The encryption of one stored secret: AES-256-GCM under a key of its own, derived with HKDF
 * from a master key and a random salt, with the secret's name (and, where a master key is shared
 * by several files, the file's random id) bound as additional authenticated data — so a
 * ciphertext moved to another name or file, a flipped bit or the wrong master key fails
 * authentication instead of yielding a wrong value.
 * @see DESIGN.md §5 "Durable stores", FIELD-NOTES "Credentials and storage"
 * @internal
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { SecretStoreError } from './secret-store-error.ts';

/** A sealed secret as stored (base64 fields). */
export interface SealedEntry {
  /** HKDF salt of this entry's key. */
  s: string;
  iv: string;
  ct: string;
  tag: string;
}

/** scrypt cost parameters, kept in the file so they can be raised later. */
export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

/** N = 2^17, r = 8 (128 MiB, about 0.3-0.7 s on a laptop core). */
export const DEFAULT_SCRYPT: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });
// Bounds on parameters read from a file: one step above what we write (256 MiB, about 1 s), so a
// doctored header fails at once instead of making us allocate gigabytes or spin for seconds.
const MAX_SCRYPT_N = 2 ** 18;
const MAX_SCRYPT_R = 8;
const MAX_SCRYPT_P = 1;

const INFO = Buffer.from('gatehouse/secret/v1');
const KEY_BYTES = 32;

function entryKey(master: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', master, salt, INFO, KEY_BYTES));
}

function aad(name: string, fileId: string | undefined): Buffer {
  // Names and file ids never hold control characters, so the NULs keep every (file, name) AAD
  // distinct from the others, and from the AAD of files written before file ids (one NUL).
  const scope = fileId === undefined ? '' : `${fileId}\u0000`;
  return Buffer.from(`gatehouse/secret/v1\u0000${scope}${name}`, 'utf8');
}

/**
 * Encrypts `plaintext` for `name`.
 * @param fileId the file's random id, when its master key may be shared with other files.
 */
export function sealEntry(master: Buffer, name: string, plaintext: string, fileId?: string): SealedEntry {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', entryKey(master, salt), iv);
  cipher.setAAD(aad(name, fileId));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { s: salt.toString('base64'), iv: iv.toString('base64'), ct: ct.toString('base64'), tag: cipher.getAuthTag().toString('base64') };
}

/**
 * Decrypts and authenticates an entry.
 * @throws SecretStoreError `integrity_failure` on any mismatch (tampering, wrong name or key).
 */
export function openEntry(master: Buffer, name: string, entry: unknown, where: string, fileId?: string): string {
  const fields = parseEntry(entry, where);
  try {
    const decipher = createDecipheriv('aes-256-gcm', entryKey(master, fields.s), fields.iv, { authTagLength: 16 });
    decipher.setAAD(aad(name, fileId));
    decipher.setAuthTag(fields.tag);
    return Buffer.concat([decipher.update(fields.ct), decipher.final()]).toString('utf8');
  } catch (cause) {
    throw new SecretStoreError('integrity_failure', `${where} failed authentication: wrong key or passphrase, or tampered`, { cause });
  }
}

function parseEntry(entry: unknown, where: string): { s: Buffer; iv: Buffer; ct: Buffer; tag: Buffer } {
  const e = entry as Partial<Record<keyof SealedEntry, unknown>> | null;
  const field = (key: keyof SealedEntry, bytes?: number): Buffer => {
    const value = e?.[key];
    const buffer = typeof value === 'string' ? Buffer.from(value, 'base64') : undefined;
    if (buffer === undefined || (bytes !== undefined && buffer.length !== bytes)) {
      throw new SecretStoreError('integrity_failure', `${where} is malformed (tampered?)`);
    }
    return buffer;
  };
  return { s: field('s', 16), iv: field('iv', 12), ct: field('ct'), tag: field('tag', 16) };
}

/** Checks scrypt parameters read from a file. */
export function checkScryptParams(value: unknown, where: string): ScryptParams {
  const v = value as Partial<Record<keyof ScryptParams, unknown>> | null;
  const { N, r, p } = v ?? {};
  const ok =
    Number.isInteger(N) && Number.isInteger(r) && Number.isInteger(p) &&
    (N as number) >= 2 ** 14 && (N as number) <= MAX_SCRYPT_N && ((N as number) & ((N as number) - 1)) === 0 &&
    (r as number) >= 1 && (r as number) <= MAX_SCRYPT_R && (p as number) >= 1 && (p as number) <= MAX_SCRYPT_P;
  if (!ok) throw new SecretStoreError('corrupt', `${where} has unusable key derivation parameters`);
  return { N: N as number, r: r as number, p: p as number };
}

/** Derives a 256-bit master key from a passphrase with scrypt (RFC 7914). */
export function deriveKeyFromPassphrase(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const maxmem = 128 * params.N * params.r * params.p + 32 * 1024 * 1024;
    scrypt(passphrase.normalize('NFC'), salt, KEY_BYTES, { ...params, maxmem }, (error, key) => {
      if (error) reject(new SecretStoreError('store_unusable', 'key derivation failed', { cause: error }));
      else resolve(key);
    });
  });
}
