/**
 * Turns a static credential (bearer, apiKey, basic) into request headers at send time.
 * @see FR-03, DESIGN.md §4.5
 */
import { GatehouseFailure } from '../errors.ts';
import type { CredentialSpec } from '../policy/compiled.ts';
import type { CredentialPayload } from './secret-store.ts';

/** How a credential was obtained for a call, as the audit records it. */
export type CredentialUse = 'fetched' | 'cached' | 'refreshed';

/** Headers to attach, and the secret strings a response must never echo back. */
export interface AppliedCredential {
  readonly headers: Readonly<Record<string, string>>;
  readonly secrets: readonly string[];
  /** Read from the store or a token endpoint, reused from the token cache, or renewed. */
  readonly use: CredentialUse;
}

// A secret that would break a header line, or that a header cannot carry (above Latin-1), is
// unusable, never sent (RFC 9110 §5.5).
const HEADER_SAFE = /^[\t\x20-\x7e\x80-\xff]+$/;

function field(payload: CredentialPayload | undefined, key: string, credential: string): string {
  const value = (payload as Record<string, unknown> | undefined)?.[key];
  if (typeof value !== 'string' || !HEADER_SAFE.test(value)) {
    throw new GatehouseFailure('missing_credential', `credential '${credential}' has no usable ${key}`);
  }
  return value;
}

/** Headers already built for a frozen payload (the memory store's), so a hot path skips the work. */
const built = new WeakMap<object, { spec: CredentialSpec; applied: AppliedCredential }>();

/**
 * Headers for a static credential type. Results are reused only for frozen payloads: a payload a
 * store may change in place is read again every time, so rotation always takes effect.
 * @throws GatehouseFailure `missing_credential` when the store has no usable payload.
 */
export function staticCredentialHeaders(spec: CredentialSpec, payload: CredentialPayload | undefined): AppliedCredential {
  const reusable = payload !== undefined && Object.isFrozen(payload);
  const hit = reusable ? built.get(payload) : undefined;
  if (hit?.spec === spec) return hit.applied;
  const applied = buildHeaders(spec, payload);
  if (reusable) built.set(payload, { spec, applied: Object.freeze(applied) });
  return applied;
}

function buildHeaders(spec: CredentialSpec, payload: CredentialPayload | undefined): AppliedCredential {
  switch (spec.type) {
    case 'bearer': {
      const token = field(payload, 'token', spec.name);
      return { headers: { authorization: `Bearer ${token}` }, secrets: [token], use: 'fetched' };
    }
    case 'apiKey': {
      const key = field(payload, 'key', spec.name);
      return { headers: { [spec.header]: key }, secrets: [key], use: 'fetched' };
    }
    case 'basic': {
      const username = field(payload, 'username', spec.name);
      const password = field(payload, 'password', spec.name);
      const encoded = Buffer.from(`${username}:${password}`).toString('base64');
      return { headers: { authorization: `Basic ${encoded}` }, secrets: [password, encoded], use: 'fetched' };
    }
    default:
      throw new GatehouseFailure('missing_credential', `credential '${spec.name}' needs an OAuth token`);
  }
}
