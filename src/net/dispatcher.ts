/**
 * The only place sockets are opened: an undici Agent whose every connection is pinned to a
 * checked address. DNS answers are classified whole before dialing (a mixed answer is refused),
 * IP literals are refused before dialing, and the socket's remote address is checked again after
 * the TLS handshake, before any HTTP byte is written. SNI and certificate checks use the hostname.
 * Through a forward proxy, Gatehouse resolves and checks the name itself and CONNECTs to that
 * address, so the proxy cannot be used to reach a refused one.
 * @see DESIGN.md §4.1, FIELD-NOTES "undici"
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { createSecureContext, rootCertificates } from 'node:tls';
import type { BlockList, Socket } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { GatehouseFailure } from '../errors.ts';
import { isIpLiteral, refusedAddressClass, unbracketHost, type AddressClass } from './address.ts';
import { bypassesProxy, type ProxyConfig } from './proxy-config.ts';
import { openTunnel } from './tunnel.ts';

/** Sockets one service keeps per origin. */
const MAX_CONNECTIONS_PER_ORIGIN = 64;

/** A `dns.lookup`-compatible resolver (tests, DNS-over-HTTPS). */
export type LookupFunction = typeof dnsLookup;

/** What one service's connections need. */
export interface DispatcherOptions {
  /** Operator-approved private CIDRs; everything else non-public is refused. */
  privateRanges: BlockList | undefined;
  /** @default node:dns lookup */
  lookup?: LookupFunction | undefined;
  /** Extra trusted roots, added to Node's bundled ones. */
  ca?: readonly string[] | undefined;
  /** TCP + TLS handshake deadline. */
  connectTimeoutMs: number;
  /** Forward proxy for https destinations, unless `NO_PROXY` bypasses it. */
  proxy?: ProxyConfig | undefined;
}

function refusal(addressClass: AddressClass): GatehouseFailure {
  // The address class is safe to report; the address itself stays out of messages.
  return new GatehouseFailure('private_address', `refused ${addressClass} address`);
}

/** Why an address may not be dialed, or undefined when it may. */
type AddressCheck = (address: string) => GatehouseFailure | undefined;

/** Wraps a resolver so that every answer is checked, and any refused address refuses all. */
function guardedLookup(lookup: LookupFunction, check: AddressCheck): LookupFunction {
  const guarded = (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
    const wantsAll = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    const onResult = (error: NodeJS.ErrnoException | null, result?: string | LookupAddress[], family?: number): void => {
      if (error) return callback(error);
      const answers: LookupAddress[] = Array.isArray(result)
        ? result
        : typeof result === 'string'
          ? [{ address: result, family: family ?? 4 }]
          : [];
      if (answers.length === 0) {
        return callback(Object.assign(new Error('no addresses'), { code: 'ENOTFOUND' }));
      }
      for (const answer of answers) {
        const refused = check(answer.address);
        if (refused !== undefined) return callback(refused);
      }
      if (wantsAll) return callback(null, answers);
      const first = answers[0]!;
      callback(null, first.address, first.family);
    };
    (lookup as (h: string, o: object, cb: typeof onResult) => void)(hostname, { ...(options as object), all: true }, onResult);
  };
  return guarded as unknown as LookupFunction;
}

/** Resolves `hostname` through the guarded lookup: the first of a wholly accepted answer. */
function resolveChecked(lookup: LookupFunction, hostname: string): Promise<string> {
  return new Promise((resolve, reject) => {
    (lookup as (h: string, o: object, cb: (e: unknown, a?: LookupAddress[]) => void) => void)(hostname, { all: true }, (error, answers) => {
      if (error) reject(error);
      else resolve(answers![0]!.address);
    });
  });
}

/** An undici Agent for one service, enforcing its address rules on every connection. */
export function createServiceDispatcher(options: DispatcherOptions): Agent {
  const { privateRanges, proxy, connectTimeoutMs } = options;
  const resolver = options.lookup ?? dnsLookup;
  const checkAddress: AddressCheck = (address) => {
    const refused = refusedAddressClass(address, privateRanges);
    return refused === undefined ? undefined : refusal(refused);
  };
  // Plain http is for loopback only: whatever a name resolves to must be loopback too.
  const checkLoopback: AddressCheck = (address) =>
    refusedAddressClass(address) === 'loopback'
      ? checkAddress(address)
      : new GatehouseFailure('insecure_transport', 'plain http to an address that is not loopback');
  // One TLS context for all connections: building it from ~150 roots costs ~10 ms per socket.
  const tls = options.ca && options.ca.length > 0 ? { secureContext: createSecureContext({ ca: [...rootCertificates, ...options.ca] }) } : {};
  const lookup = guardedLookup(resolver, checkAddress);
  const connectors = {
    https: { connect: buildConnector({ timeout: connectTimeoutMs, lookup, ...tls } as buildConnector.BuildOptions), check: checkAddress },
    http: { connect: buildConnector({ timeout: connectTimeoutMs, lookup: guardedLookup(resolver, checkLoopback) } as buildConnector.BuildOptions), check: checkLoopback },
  };

  const connectDirect = (connectOptions: buildConnector.Options, callback: buildConnector.Callback): void => {
    const { connect, check } = connectOptions.protocol === 'https:' ? connectors.https : connectors.http;
    connect(connectOptions, (error, socket) => {
      if (error !== null) return callback(error, null);
      const refused = check((socket as Socket).remoteAddress ?? '');
      if (refused !== undefined) {
        socket!.destroy();
        return callback(refused, null);
      }
      callback(null, socket);
    });
  };

  const connectViaProxy = (through: ProxyConfig, connectOptions: buildConnector.Options, callback: buildConnector.Callback): void => {
    const host = unbracketHost(connectOptions.hostname);
    const port = Number(connectOptions.port) || 443;
    // One deadline over name lookup, CONNECT and TLS: a resolver that never answers must not
    // leave the connection pending for ever.
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      return true;
    };
    const timer = setTimeout(() => {
      if (settle()) callback(new GatehouseFailure('connect_timeout', 'proxy connection not established in time'), null);
    }, connectTimeoutMs);
    (isIpLiteral(host) ? Promise.resolve(host) : resolveChecked(lookup, host))
      .then((address) => openTunnel({ proxy: through, address, port, servername: host, tls, timeoutMs: connectTimeoutMs }))
      .then(
        (socket) => (settle() ? callback(null, socket) : socket.destroy()),
        (error: Error) => settle() && callback(error, null),
      );
  };

  const checkedConnect: buildConnector.connector = (connectOptions, callback) => {
    const host = unbracketHost(connectOptions.hostname);
    // Node skips lookup for IP literals: check them before dialing.
    const refused = isIpLiteral(host) ? (connectOptions.protocol === 'https:' ? checkAddress : checkLoopback)(host) : undefined;
    if (refused !== undefined) {
      queueMicrotask(() => callback(refused, null));
      return;
    }
    const port = Number(connectOptions.port) || 443;
    if (proxy !== undefined && connectOptions.protocol === 'https:' && !bypassesProxy(proxy, host, port)) {
      connectViaProxy(proxy, connectOptions, callback);
    } else {
      connectDirect(connectOptions, callback);
    }
  };

  // HTTP/1.1 only: a smaller parser surface facing hostile servers, and bounded header sizes.
  // A bounded pool per origin: a burst of calls queues for a connection instead of opening
  // (and TLS-handshaking) one socket each.
  return new Agent({ connect: checkedConnect, allowH2: false, connections: MAX_CONNECTIONS_PER_ORIGIN });
}
