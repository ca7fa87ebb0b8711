/**
 * Credential payloads as bytes: JSON of a flat object of strings. Stores encode with
 * {@link encodePayload} and decode with {@link decodePayload}, which refuses anything else.
 * @internal
 */
import type { CredentialPayload } from './secret-store.ts';
import { SecretStoreError } from './secret-store-error.ts';

const MAX_NAME_CHARS = 200;
const MAX_PAYLOAD_CHARS = 64 * 1024;
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME = /[\u0000-\u001f\u007f]/;

/** Refuses names a store cannot hold safely (empty, too long, control characters). */
export function checkSecretName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_CHARS || UNSAFE_NAME.test(name)) {
    throw new SecretStoreError('invalid_argument', 'a secret name must be 1-200 characters without control characters');
  }
  return name;
}

/** Whether `value` is a flat object whose values are all strings. */
export function isPayload(value: unknown): value is CredentialPayload {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  return Object.values(value).every((field) => typeof field === 'string');
}

/** Serialises a payload; refuses anything but a flat object of strings (the message holds no value). */
export function encodePayload(payload: unknown): string {
  if (!isPayload(payload)) throw new SecretStoreError('invalid_argument', 'a credential payload must be an object of strings');
  const text = JSON.stringify(payload);
  if (text.length > MAX_PAYLOAD_CHARS) throw new SecretStoreError('invalid_argument', 'a credential payload must be at most 64 KiB');
  return text;
}

/** Parses what {@link encodePayload} wrote; a frozen copy with own properties only. */
export function decodePayload(text: string, name: string): CredentialPayload {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isPayload(parsed)) throw new SecretStoreError('corrupt', `secret '${name}' is not a credential payload`);
  // fromEntries defines own properties: a `__proto__` key stays data, never a prototype.
  return Object.freeze(Object.fromEntries(Object.entries(parsed))) as CredentialPayload;
}
