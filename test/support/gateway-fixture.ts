/**
 * A gateway wired to loopback test servers: policy built in code, names resolved by a stub
 * lookup, the test CA trusted, audit events collected in memory.
 */
import { createGateway, type AuditEvent, type CredentialPayload, type Gateway } from '../../src/index.ts';
import { memorySecretStore } from '../../src/auth/memory-store.ts';
import { LOOPBACK_NAMES, makeTestPki } from './certs.ts';
import { stubLookup } from './lookup.ts';
import { startHttpsServer, type Handler, type TestServer } from './servers.ts';

/** Loopback ranges a test service must list to reach its own server. */
export const LOOPBACK_RANGES = ['127.0.0.0/8', '::1/128'];

/** A running gateway and what a test inspects. */
export interface GatewayFixture {
  gateway: Gateway;
  server: TestServer;
  audit: AuditEvent[];
  lookupCalls: string[];
  close(): Promise<void>;
}

/** Options of {@link startGatewayFixture}. */
export interface FixtureOptions {
  /** Builds the policy from the server's port. */
  policy: (port: number) => object;
  handler: Handler;
  secrets?: Record<string, CredentialPayload>;
  /** Extra stub DNS entries; `api.test` always resolves to 127.0.0.1. */
  dns?: Record<string, readonly string[]>;
}

/** Starts an HTTPS server for `api.test` and a gateway whose policy points at it. */
export async function startGatewayFixture(options: FixtureOptions): Promise<GatewayFixture> {
  const pki = await makeTestPki();
  const server = await startHttpsServer(options.handler, await pki.issue(LOOPBACK_NAMES));
  const audit: AuditEvent[] = [];
  const lookup = stubLookup({ 'api.test': ['127.0.0.1'], ...options.dns });
  const gateway = await createGateway({
    policy: options.policy(server.port),
    secrets: memorySecretStore(options.secrets ?? {}),
    audit: { sink: (event) => audit.push(event) },
    network: { lookup, ca: [pki.caPem], proxy: 'none' },
  }).catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  return {
    gateway,
    server,
    audit,
    lookupCalls: lookup.calls,
    async close() {
      await gateway.close();
      await server.close();
    },
  };
}
