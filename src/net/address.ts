/**
 * Address classification: may Gatehouse dial this IP address?
 *
 * Called for IP-literal hosts, for every DNS answer and for a socket's remote address after
 * connect, so it stays cheap: one `net.isIP` and one ipaddr.js parse on the allow path.
 * @see DESIGN.md §4.1, §5 "Private ranges"; FIELD-NOTES "Address classification"
 */
import { isIP } from 'node:net';
import type { BlockList } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why an address is refused. Short, stable names for audit details and tests. */
export type AddressClass =
  | 'invalid'
  | 'zoneId'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'linkLocal'
  | 'carrierGradeNat'
  | 'multicast'
  | 'broadcast'
  | 'documentation'
  | 'benchmarking'
  | 'reserved'
  | 'metadata'
  | 'uniqueLocal'
  | 'ipv4Mapped'
  | 'ipv4Compatible'
  | 'ipv4Translated'
  | 'nat64'
  | '6to4'
  | 'teredo';

/**
 * Cloud instance-metadata and platform endpoints. Most already fall in a refused range; they are
 * named here so the class says what they are, and 168.63.129.16 (Azure WireServer) looks public.
 */
const METADATA_V4: ReadonlySet<number> = new Set(
  [
    '169.254.169.254', // AWS, GCP, Azure, DigitalOcean, Oracle IMDS (link-local)
    '169.254.170.2', // AWS ECS task metadata (link-local)
    '168.63.129.16', // Azure WireServer / platform DNS: publicly routable range
    '192.0.0.192', // Oracle Cloud metadata (IETF protocol assignments, reserved)
    '100.100.100.200', // Alibaba Cloud metadata (CGNAT)
  ].map((text) => v4Number(ipaddr.IPv4.parse(text).octets)),
);
/** AWS IMDS over IPv6 (inside fc00::/7 already). */
const METADATA_V6: ReadonlySet<string> = new Set(['fd00:ec2:0:0:0:0:0:254']);

const V4_DOCUMENTATION = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'].map((cidr) => ipaddr.IPv4.parseCIDR(cidr));
const V4_BENCHMARKING = ipaddr.IPv4.parseCIDR('198.18.0.0/15');
const V6_DOCUMENTATION = ['2001:db8::/32', '3fff::/20'].map((cidr) => ipaddr.IPv6.parseCIDR(cidr));

/** ipaddr.js range names that keep their name; every other non-unicast name becomes 'reserved'. */
const KEPT: ReadonlySet<string> = new Set([
  'unspecified',
  'loopback',
  'private',
  'linkLocal',
  'carrierGradeNat',
  'multicast',
  'broadcast',
  'benchmarking',
  'uniqueLocal',
  '6to4',
  'teredo',
]);

/**
 * Classifies an IP address for dialing.
 *
 * Only strict dotted-quad IPv4 and RFC 4291 IPv6 text is accepted (what `net.isIP` accepts):
 * legacy forms such as `127.1` or `0x7f000001` are `'invalid'` here (WHATWG `URL` normalises them
 * first). Zone ids (`fe80::1%eth0`) are always refused. IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is
 * refused as `'ipv4Mapped'` whatever it embeds, `::/96` as `'ipv4Compatible'`, NAT64, 6to4 and
 * Teredo likewise; IPv6 outside 2000::/3 is `'reserved'`.
 *
 * `privateRanges` (the service's operator-approved CIDRs) allows an otherwise refused address when
 * it matches the address as given or, for IPv4-mapped IPv6, the embedded IPv4 address; so a
 * `127.0.0.0/8` rule covers `::ffff:127.0.0.1`. It never allows `'invalid'` or `'zoneId'`.
 *
 * @param address an IP address as text: a resolver answer, a socket's `remoteAddress`, or a
 *   URL hostname without brackets.
 * @param privateRanges operator-approved ranges (`privateRanges` in the policy).
 * @returns `undefined` when the address may be dialed, else the class that refuses it.
 * @example refusedAddressClass('10.0.0.1') // 'private'
 * @see DESIGN.md §4.1, §5 "Private ranges"
 */
export function refusedAddressClass(address: string, privateRanges?: BlockList): AddressClass | undefined {
  if (typeof address !== 'string') return 'invalid';
  if (address.includes('%')) return 'zoneId';
  const family = isIP(address);
  if (family === 0) return 'invalid';

  let refused: AddressClass | undefined;
  let embedded: string | undefined;
  try {
    if (family === 4) {
      refused = classifyV4(ipaddr.IPv4.parse(address));
    } else {
      const v6 = ipaddr.IPv6.parse(withHexTail(address));
      if (v6.isIPv4MappedAddress()) {
        refused = 'ipv4Mapped';
        embedded = v6.toIPv4Address().toString();
      } else {
        refused = classifyV6(v6);
      }
    }
  } catch {
    return 'invalid';
  }

  if (refused === undefined || privateRanges === undefined) return refused;
  // BlockList already matches ::ffff:a.b.c.d against IPv4 rules; checking the embedded form as
  // well keeps this true whatever BlockList does in a later Node version.
  if (privateRanges.check(address, family === 4 ? 'ipv4' : 'ipv6')) return undefined;
  if (embedded !== undefined && privateRanges.check(embedded, 'ipv4')) return undefined;
  return refused;
}

/**
 * True when `host` is an IP literal rather than a name: IPv4, IPv6 with or without the brackets
 * `URL.hostname` keeps (`[::1]`), or a legacy numeric IPv4 form (`127.1`, `0x7f000001`) that must
 * never be handed to a resolver. Such hosts are checked with {@link refusedAddressClass} before
 * dialing, because `connect.lookup` is never called for them.
 * @param host a URL hostname or `host` option.
 * @see FIELD-NOTES "undici"
 */
export function isIpLiteral(host: string): boolean {
  if (typeof host !== 'string' || host.length === 0) return false;
  // Names (the common case) have a letter outside a-f/x and no colon: skip the parsers.
  if (!host.includes(':') && !LEGACY_IPV4_TEXT.test(host)) return false;
  if (host.charCodeAt(0) === 91 /* [ */) {
    return host.charCodeAt(host.length - 1) === 93 /* ] */ && isIP(host.slice(1, -1)) === 6;
  }
  // Only digit/hex/dot text can be a legacy IPv4 form; testing names first keeps ipaddr.js from
  // throwing (and catching) on every ordinary hostname, which cost ~10 µs per call.
  return isIP(host) !== 0 || (LEGACY_IPV4_TEXT.test(host) && ipaddr.IPv4.isValid(host));
}

const LEGACY_IPV4_TEXT = /^[0-9a-fx.]+$/i;

/** Strips the brackets `URL.hostname` keeps around IPv6 (`[::1]` -> `::1`). */
export function unbracketHost(host: string): string {
  return host.length > 1 && host.charCodeAt(0) === 91 && host.charCodeAt(host.length - 1) === 93 ? host.slice(1, -1) : host;
}

function classifyV4(addr: ipaddr.IPv4): AddressClass | undefined {
  if (METADATA_V4.has(v4Number(addr.octets))) return 'metadata';
  const range = addr.range();
  if (range === 'unicast') return undefined;
  if (range === 'reserved') {
    if (V4_DOCUMENTATION.some((cidr) => addr.match(cidr))) return 'documentation';
    if (addr.match(V4_BENCHMARKING)) return 'benchmarking';
  }
  return KEPT.has(range) ? (range as AddressClass) : 'reserved';
}

function classifyV6(addr: ipaddr.IPv6): AddressClass | undefined {
  const range = addr.range();
  const p = addr.parts;
  if (range === 'unicast') {
    // ::/96 minus :: and ::1 (ranges of their own): deprecated IPv4-compatible addresses that
    // ipaddr.js reports as unicast.
    if (p[0] === 0 && p[1] === 0 && p[2] === 0 && p[3] === 0 && p[4] === 0 && p[5] === 0) return 'ipv4Compatible';
    // Only 2000::/3 is allocated global unicast; everything else unicast-looking is reserved.
    if (((p[0] ?? 0) & 0xe000) !== 0x2000) return 'reserved';
    return undefined;
  }
  if (METADATA_V6.has(addr.toNormalizedString())) return 'metadata';
  if (range === 'rfc6052') return 'nat64';
  if (range === 'rfc6145') return 'ipv4Translated';
  if (range === 'reserved' && V6_DOCUMENTATION.some((cidr) => addr.match(cidr))) return 'documentation';
  return KEPT.has(range) ? (range as AddressClass) : 'reserved';
}

/**
 * Rewrites a dotted IPv4 tail as two hex groups (`::127.0.0.1` -> `::7f00:1`). ipaddr.js reads
 * `::a.b.c.d` as IPv4-*mapped* (`::ffff:a.b.c.d`) while the OS, BlockList and libuv (which prints
 * IPv4-compatible answers this way) read it as IPv4-*compatible*: parse what the OS will dial.
 */
function withHexTail(address: string): string {
  if (!address.includes('.')) return address;
  const colon = address.lastIndexOf(':');
  const octets = address.slice(colon + 1).split('.').map(Number);
  const [a = 0, b = 0, c = 0, d = 0] = octets;
  return `${address.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function v4Number(octets: readonly number[]): number {
  return (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
}

/** Whether `address` is an IP literal in a loopback range (127.0.0.0/8, ::1, their IPv4-mapped forms). */
export function isLoopbackAddress(address: string): boolean {
  return isIP(address) !== 0 && refusedAddressClass(address) === 'loopback';
}
