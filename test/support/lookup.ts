/**
 * A stub resolver: names map to the addresses a test chooses. Addresses that must be blocked
 * (10.x, 169.254.169.254, ...) come only from here, never from real DNS (DESIGN.md §6).
 */
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from '../../src/net/dispatcher.ts';

/** Resolves each name to its listed addresses; unknown names fail with ENOTFOUND. */
export function stubLookup(table: Record<string, readonly string[]>): LookupFunction & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (hostname: string, options: unknown, callback: (...args: unknown[]) => void): void => {
    calls.push(hostname);
    const addresses = Object.hasOwn(table, hostname) ? table[hostname]! : [];
    setImmediate(() => {
      if (addresses.length === 0) {
        callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }));
        return;
      }
      const answers: LookupAddress[] = addresses.map((address) => ({ address, family: isIP(address) }));
      if ((options as { all?: boolean } | undefined)?.all) callback(null, answers);
      else callback(null, answers[0]!.address, answers[0]!.family);
    });
  };
  return Object.assign(lookup as unknown as LookupFunction, { calls });
}
