/**
 * Whether a URL is a destination a service may reach: a pure decision, no I/O.
 * @see FR-01, FR-04, DESIGN.md §4.1, §5 "Hosts and ports"
 */
import type { Destination } from '../policy/compiled.ts';
import { isLoopbackHostname } from '../policy/destination.ts';
import { isIpLiteral, refusedAddressClass, unbracketHost } from './address.ts';

/** Why a URL may not be dialed, or undefined when it may. */
export type DestinationRefusal = 'insecure_transport' | 'destination_not_allowed' | 'private_address';

/**
 * Checks scheme, origin and (for IP literals, before any dialing) the address class.
 * DNS names are checked again when they resolve and when the socket connects.
 */
export function refuseDestination(url: URL, destination: Destination): DestinationRefusal | undefined {
  const host = unbracketHost(url.hostname);
  if (url.protocol !== 'https:') {
    const loopbackHttp = url.protocol === 'http:' && destination.allowHttpLoopback && isLoopbackHostname(url.hostname);
    if (!loopbackHttp) return 'insecure_transport';
  }
  if (url.username !== '' || url.password !== '') return 'destination_not_allowed';
  if (!destination.origins.has(url.origin)) return 'destination_not_allowed';
  if (isIpLiteral(host) && refusedAddressClass(host, destination.privateRanges) !== undefined) return 'private_address';
  return undefined;
}
