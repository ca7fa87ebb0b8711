/** A secret store in process memory: for tests, and for hosts that hold secrets elsewhere. */
import type { CredentialPayload, SecretStore } from './secret-store.ts';

/**
 * Creates a secret store kept in memory only (lost on exit).
 * @example memorySecretStore({ 'weather-key': { key: process.env.WEATHER_KEY! } })
 */
export function memorySecretStore(initial: Record<string, CredentialPayload> = {}): SecretStore {
  // Payloads are flat records of strings: a frozen copy keeps callers from changing what is stored.
  const entries = new Map<string, CredentialPayload>();
  for (const [name, payload] of Object.entries(initial)) entries.set(name, Object.freeze({ ...payload }));
  return {
    async get(name) {
      return entries.get(name);
    },
    async set(name, payload) {
      entries.set(name, Object.freeze({ ...payload }));
    },
    async delete(name) {
      entries.delete(name);
    },
    async list() {
      return [...entries.keys()];
    },
  };
}
