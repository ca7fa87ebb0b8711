/**
 * `privateRanges` CIDR lists compiled into a `node:net` BlockList. An IPv4 rule also matches the
 * IPv4-mapped IPv6 form (`127.0.0.0/8` covers `::ffff:127.0.0.1`): BlockList does that itself.
 * @see DESIGN.md §5 "Private ranges"
 */
import { BlockList, isIP } from 'node:net';
import type { IssuePath, ReportIssue } from './policy-error.ts';

/** Parses `a.b.c.d/n` or `x::y/n`; returns undefined when it is not a CIDR. @internal */
function parseCidr(text: string): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const match = /^([0-9A-Fa-f:.]+)\/(\d{1,3})$/.exec(text);
  if (match === null) return undefined;
  const address = match[1] ?? '';
  const version = isIP(address);
  const prefix = Number(match[2]);
  if (version === 0 || prefix > (version === 4 ? 32 : 128)) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Compiles a `privateRanges` list. Invalid CIDRs are reported; an empty or absent list gives
 * undefined (no private address allowed).
 * @internal
 */
export function compileCidrs(list: readonly string[] | undefined, path: IssuePath, report: ReportIssue): BlockList | undefined {
  if (list === undefined || list.length === 0) return undefined;
  const blockList = new BlockList();
  list.forEach((text, index) => {
    const cidr = parseCidr(text.trim());
    if (cidr === undefined) {
      report([...path, index], 'must be a CIDR such as 10.0.0.0/8 or fd00::/8');
      return;
    }
    blockList.addSubnet(cidr.address, cidr.prefix, cidr.family);
  });
  return blockList;
}
