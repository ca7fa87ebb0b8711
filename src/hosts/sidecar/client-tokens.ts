/**
 * Sidecar client tokens: each maps to a caller role. Only SHA-256 digests are kept, so the
 * tokens file reveals no usable token; comparison is constant-time.
 * @see DESIGN.md §4.8
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ID_PATTERN } from '../../policy/schema.ts';

/** One registered client: its role and the SHA-256 (hex) of its token. */
export interface SidecarClient {
  readonly role: string;
  readonly tokenSha256: string;
}

const HEX64 = /^[0-9a-f]{64}$/;

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** A new random token (256 bits, base64url) and its registration entry. */
export function issueClientToken(role: string): { token: string; client: SidecarClient } {
  if (!ID_PATTERN.test(role) || role === 'main') throw new Error(`role must match ${ID_PATTERN.source} and may not be main`);
  const token = randomBytes(32).toString('base64url');
  return { token, client: { role, tokenSha256: digest(token).toString('hex') } };
}

/** Checks a parsed tokens file (`{ clients: [{ role, tokenSha256 }] }`). */
export function parseClients(value: unknown): SidecarClient[] {
  const clients = (value as { clients?: unknown } | null)?.clients;
  if (!Array.isArray(clients)) throw new Error('tokens file must be { "clients": [{ "role", "tokenSha256" }] }');
  return clients.map((entry, index) => {
    const { role, tokenSha256 } = (entry ?? {}) as Record<string, unknown>;
    if (typeof role !== 'string' || !ID_PATTERN.test(role) || role === 'main') throw new Error(`clients[${index}].role is not a valid role (and may not be 'main')`);
    if (typeof tokenSha256 !== 'string' || !HEX64.test(tokenSha256)) throw new Error(`clients[${index}].tokenSha256 must be 64 hex digits`);
    return { role, tokenSha256 };
  });
}

/** Finds the role of the client presenting a token, or undefined; the digests are decoded once. */
export function tokenMatcher(clients: readonly SidecarClient[]): (token: string) => string | undefined {
  const known = clients.map((client) => ({ role: client.role, sha: Buffer.from(client.tokenSha256, 'hex') }));
  return (token) => {
    const presented = digest(token);
    let role: string | undefined;
    for (const client of known) {
      // Compare against every entry, so timing says nothing about which one matched.
      if (timingSafeEqual(presented, client.sha) && role === undefined) role = client.role;
    }
    return role;
  };
}
