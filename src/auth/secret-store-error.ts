/**
 * The error secret stores throw. Its message names the store and the secret's *name* at most,
 * never a value, a key or a passphrase.
 * @see DESIGN.md §5 "Durable stores"
 */

/** Why a secret store failed. */
export type SecretStoreErrorCode =
  /** The backend cannot be used here (no Secret Service, locked keyring, `basic_text` backend, ...). */
  | 'store_unusable'
  /** An entry or the file failed authentication: tampered, or decrypted with the wrong key or passphrase. */
  | 'integrity_failure'
  /** The file or an entry is not in the expected format. */
  | 'corrupt'
  /** A name or payload that cannot be stored. */
  | 'invalid_argument';

const BRAND = Symbol.for('gatehouse.secret-store-error');

/** A secret store failure with a stable `code`. */
export class SecretStoreError extends Error {
  readonly [BRAND] = true;
  readonly code: SecretStoreErrorCode;

  constructor(code: SecretStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretStoreError';
    this.code = code;
  }
}

/** True for a {@link SecretStoreError}, even one from another copy of the package. */
export function isSecretStoreError(value: unknown): value is SecretStoreError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
