/**
 * A credential provider wired to a real OAuth server on loopback: policy compiled from an
 * object, the test CA trusted, credential events collected.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createCredentialProvider, type CredentialProvider } from '../../src/auth/credential-provider.ts';
import type { CredentialEvent } from '../../src/auth/credential-events.ts';
import { memorySecretStore } from '../../src/auth/memory-store.ts';
import type { CredentialPayload, SecretStore } from '../../src/auth/secret-store.ts';
import type { CompiledPolicy, CredentialSpec } from '../../src/policy/compiled.ts';
import { loadPolicy } from '../../src/policy/load.ts';
import { isFailure } from '../../src/errors.ts';
import { makeTestPki } from './certs.ts';
import { stubLookup } from './lookup.ts';

/** A provider under test and what a test inspects. */
export interface ProviderFixture {
  provider: CredentialProvider;
  policy: CompiledPolicy;
  secrets: SecretStore;
  events: CredentialEvent[];
  /** A clock the test moves: `clock.offset += 3_600_000`. */
  clock: { offset: number };
  spec(name: string): CredentialSpec;
  close(): Promise<void>;
}

/** Compiles `credentials` into a policy with one service using each, and builds a provider. */
export async function startProviderFixture(
  credentials: Record<string, object>,
  initial: Record<string, CredentialPayload> = {},
  options: { tokenTimeoutMs?: number; lookup?: ReturnType<typeof stubLookup> } = {},
): Promise<ProviderFixture> {
  const pki = await makeTestPki();
  const services = Object.fromEntries(
    Object.keys(credentials).map((name, i) => [`svc${i}`, { baseUrl: 'https://api.test', rationale: 'Test.', credential: name, requests: [{ methods: ['GET'], path: '/**' }] }]),
  );
  const policy = await loadPolicy({ version: 1, credentials, services });
  const secrets = memorySecretStore(initial);
  const clock = { offset: 0 };
  // No real DNS: the token servers are 127.0.0.1 literals, and any name fails here.
  const provider = createCredentialProvider({ policy, secrets, ca: [pki.caPem], lookup: stubLookup({}), now: () => Date.now() + clock.offset, ...options });
  const events: CredentialEvent[] = [];
  const onEvent = (event: unknown): void => void events.push(event as CredentialEvent);
  subscribe('gatehouse:credential', onEvent);
  return {
    provider,
    policy,
    secrets,
    events,
    clock,
    spec: (name) => policy.credentials.get(name)!,
    async close() {
      unsubscribe('gatehouse:credential', onEvent);
      await provider.close();
    },
  };
}

/** The GatehouseFailure a promise rejects with (fails the test when it resolves or rejects otherwise). */
export async function failureOf(promise: Promise<unknown>): Promise<{ kind: string; reason: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    assert.ok(isFailure(error), `not a GatehouseFailure: ${String(error)}`);
    return error;
  }
  assert.fail('expected a failure');
}
