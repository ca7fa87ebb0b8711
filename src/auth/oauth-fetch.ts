/**
 * The `fetch` that OAuth requests (discovery, token endpoint) go through: https only, every
 * connection through a {@link createServiceDispatcher} with the credential's own `privateRanges`
 * (so the same address rules, pinned DNS, proxy and extra CAs apply as for services), redirects
 * never followed, and the answer capped in size before oauth4webapi parses it.
 * @see DESIGN.md §5 "Token endpoints", RFC 6749 §3.2
 * @internal
 */
import type { BlockList } from 'node:net';
import { Response, fetch, type Agent } from 'undici';
import { GatehouseFailure, isFailure } from '../errors.ts';
import { createServiceDispatcher, type LookupFunction } from '../net/dispatcher.ts';
import { isIpLiteral, refusedAddressClass, unbracketHost } from '../net/address.ts';
import type { ProxyConfig } from '../net/proxy-config.ts';

/** Network settings shared with the gateway. */
export interface OAuthNetwork {
  lookup?: LookupFunction | undefined;
  ca?: readonly string[] | undefined;
  proxy?: ProxyConfig | undefined;
  /** TCP + TLS handshake deadline. @default 10000 */
  connectTimeoutMs?: number | undefined;
}

/** What oauth4webapi hands to `[customFetch]`. */
export interface OAuthFetchInit {
  body?: string | URLSearchParams | undefined;
  headers: Record<string, string>;
  method: string;
  redirect: 'manual';
  signal?: AbortSignal | undefined;
}

/** A fetch for one credential's OAuth requests, and a way to close its connections. */
export interface OAuthFetch {
  (url: string, init: OAuthFetchInit): Promise<Response>;
  close(): Promise<void>;
}

// Token and metadata documents are small; anything bigger is refused before parsing.
const MAX_OAUTH_RESPONSE_BYTES = 256 * 1024;

/** Creates the fetch for a credential whose endpoints may use `privateRanges`. */
export function createOAuthFetch(privateRanges: BlockList | undefined, network: OAuthNetwork): OAuthFetch {
  let dispatcher: Agent | undefined;
  const oauthFetch = async (url: string, init: OAuthFetchInit): Promise<Response> => {
    const target = new URL(url);
    if (target.protocol !== 'https:') throw new GatehouseFailure('insecure_transport', 'OAuth endpoints must use https');
    if (target.username !== '' || target.password !== '') throw new GatehouseFailure('destination_not_allowed', 'OAuth endpoint URL has userinfo');
    const host = unbracketHost(target.hostname);
    if (isIpLiteral(host) && refusedAddressClass(host, privateRanges) !== undefined) {
      throw new GatehouseFailure('private_address', 'OAuth endpoint is a refused address');
    }
    dispatcher ??= createServiceDispatcher({
      privateRanges,
      lookup: network.lookup,
      ca: network.ca,
      proxy: network.proxy,
      connectTimeoutMs: network.connectTimeoutMs ?? 10_000,
    });
    const response = await fetch(target, {
      method: init.method,
      headers: init.headers,
      body: init.body,
      redirect: 'manual',
      signal: init.signal,
      dispatcher,
    }).catch((error: unknown) => {
      // fetch wraps whatever failed as `fetch failed`, Gatehouse's own refusals (a refused address, the proxy's answer) included.
      throw failureInside(error) ?? error;
    });
    const body = await readCapped(response);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return Object.assign(oauthFetch, {
    async close() {
      await dispatcher?.destroy();
    },
  });
}

/** A GatehouseFailure in an error's `cause` chain. */
function failureInside(error: unknown, depth = 0): GatehouseFailure | undefined {
  if (error === null || typeof error !== 'object' || depth > 4) return undefined;
  const cause = (error as { cause?: unknown }).cause;
  return isFailure(cause) ? cause : failureInside(cause, depth + 1);
}

async function readCapped(response: Response): Promise<Uint8Array | null> {
  if (response.body === null) return null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > MAX_OAUTH_RESPONSE_BYTES) {
      await response.body.cancel().catch(() => undefined);
      throw new GatehouseFailure('too_large', 'OAuth endpoint answer too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
