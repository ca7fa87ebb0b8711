// Address classification. These addresses are only classified here, never dialed.
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isIpLiteral, refusedAddressClass, unbracketHost } from '../src/net/address.ts';

const REFUSED: ReadonlyArray<readonly [string, string]> = [
  ['10.0.0.1', 'private'],
  ['172.16.0.1', 'private'],
  ['192.168.1.1', 'private'],
  ['127.0.0.1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['169.254.169.254', 'metadata'],
  ['169.254.1.1', 'linkLocal'],
  ['100.64.0.1', 'carrierGradeNat'],
  ['224.0.0.1', 'multicast'],
  ['255.255.255.255', 'broadcast'],
  ['192.0.2.1', 'documentation'],
  ['198.51.100.1', 'documentation'],
  ['203.0.113.1', 'documentation'],
  ['198.18.0.1', 'benchmarking'],
  ['240.0.0.1', 'reserved'],
  ['::1', 'loopback'],
  ['::', 'unspecified'],
  ['fe80::1', 'linkLocal'],
  ['fc00::1', 'uniqueLocal'],
  ['ff02::1', 'multicast'],
  ['::ffff:127.0.0.1', 'ipv4Mapped'],
  ['::ffff:10.0.0.1', 'ipv4Mapped'],
  ['::ffff:7f00:1', 'ipv4Mapped'],
  ['::ffff:8.8.8.8', 'ipv4Mapped'],
  ['::7f00:1', 'ipv4Compatible'],
  ['::127.0.0.1', 'ipv4Compatible'],
  ['::8.8.8.8', 'ipv4Compatible'],
  ['::ffff:0:7f00:1', 'ipv4Translated'],
  ['64:ff9b::a00:1', 'nat64'],
  ['64:ff9b::808:808', 'nat64'],
  ['64:ff9b:1::a00:1', 'nat64'],
  ['2002:a00:1::', '6to4'],
  ['2001:0::1', 'teredo'],
  ['2001:db8::1', 'documentation'],
  ['2001:2::1', 'benchmarking'],
  ['fec0::1', 'reserved'],
  ['100::1', 'reserved'],
  ['4000::1', 'reserved'],
  ['168.63.129.16', 'metadata'],
  ['192.0.0.192', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  ['fe80::1%eth0', 'zoneId'],
  ['fe80::1%25eth0', 'zoneId'],
  ['127.1', 'invalid'],
  ['0x7f000001', 'invalid'],
  ['2130706433', 'invalid'],
  ['010.0.0.1', 'invalid'],
  ['[::1]', 'invalid'],
  ['localhost', 'invalid'],
  ['', 'invalid'],
  ['1.2.3.4.5', 'invalid'],
];

const ALLOWED = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450:4001:82b::200e', '2001:4860:4860::8888'];

describe('refusedAddressClass', () => {
  for (const [address, expected] of REFUSED) {
    it(`refuses ${address || '(empty)'} as ${expected}`, () => {
      assert.equal(refusedAddressClass(address), expected);
    });
  }

  for (const address of ALLOWED) {
    it(`allows public ${address}`, () => {
      assert.equal(refusedAddressClass(address), undefined);
    });
  }

  it('refuses non-string input as invalid', () => {
    assert.equal(refusedAddressClass(undefined as unknown as string), 'invalid');
  });

  it('refuses every IPv4 address in 10/8, 127/8, 169.254/16 and 192.168/16, plain and IPv4-mapped', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const privateV4 = fc.oneof(
      fc.tuple(fc.constant(10), octet, octet, octet),
      fc.tuple(fc.constant(127), octet, octet, octet),
      fc.tuple(fc.constant(169), fc.constant(254), octet, octet),
      fc.tuple(fc.constant(192), fc.constant(168), octet, octet),
    );
    fc.assert(
      fc.property(privateV4, (octets) => {
        const v4 = octets.join('.');
        const hex = `${((octets[0] << 8) | octets[1]).toString(16)}:${((octets[2] << 8) | octets[3]).toString(16)}`;
        return (
          refusedAddressClass(v4) !== undefined &&
          refusedAddressClass(`::ffff:${v4}`) !== undefined &&
          refusedAddressClass(`::FFFF:${hex}`) !== undefined &&
          refusedAddressClass(`::${v4}`) !== undefined &&
          refusedAddressClass(`64:ff9b::${hex}`) !== undefined
        );
      }),
      { numRuns: 2000 },
    );
  });
});

describe('refusedAddressClass with privateRanges', () => {
  const ranges = new BlockList();
  ranges.addSubnet('127.0.0.0', 8, 'ipv4');
  ranges.addSubnet('10.1.0.0', 16, 'ipv4');
  ranges.addAddress('::1', 'ipv6');
  ranges.addSubnet('fd00:1234::', 32, 'ipv6');

  it('allows refused addresses that an operator range covers', () => {
    assert.equal(refusedAddressClass('127.0.0.1', ranges), undefined);
    assert.equal(refusedAddressClass('127.255.0.9', ranges), undefined);
    assert.equal(refusedAddressClass('10.1.2.3', ranges), undefined);
    assert.equal(refusedAddressClass('::1', ranges), undefined);
    assert.equal(refusedAddressClass('fd00:1234::5', ranges), undefined);
  });

  it('covers IPv4-mapped IPv6 with an IPv4 rule, in dotted and hex form', () => {
    assert.equal(refusedAddressClass('::ffff:127.0.0.1', ranges), undefined);
    assert.equal(refusedAddressClass('::ffff:7f00:1', ranges), undefined);
    assert.equal(refusedAddressClass('::ffff:10.1.0.1', ranges), undefined);
  });

  it('keeps refusing what the ranges do not cover', () => {
    assert.equal(refusedAddressClass('10.2.0.1', ranges), 'private');
    assert.equal(refusedAddressClass('::ffff:10.2.0.1', ranges), 'ipv4Mapped');
    assert.equal(refusedAddressClass('169.254.169.254', ranges), 'metadata');
    assert.equal(refusedAddressClass('fd00:ec2::254', ranges), 'metadata');
  });

  it('IPv4-compatible ::127.0.0.1 is not covered by 127.0.0.0/8 (ipaddr.js reads it as mapped)', () => {
    assert.equal(refusedAddressClass('::127.0.0.1', ranges), 'ipv4Compatible');
    assert.equal(refusedAddressClass('::7f00:1', ranges), 'ipv4Compatible');
  });

  it('NAT64 of a covered IPv4 address is still refused', () => {
    assert.equal(refusedAddressClass('64:ff9b::7f00:1', ranges), 'nat64');
  });

  it('never allows zone ids or invalid text, even under a catch-all range', () => {
    const everything = new BlockList();
    everything.addSubnet('0.0.0.0', 0, 'ipv4');
    everything.addSubnet('::', 0, 'ipv6');
    assert.equal(refusedAddressClass('fe80::1%eth0', everything), 'zoneId');
    assert.equal(refusedAddressClass('127.1', everything), 'invalid');
    assert.equal(refusedAddressClass('10.0.0.1', everything), undefined);
  });
});

describe('isIpLiteral', () => {
  const cases: ReadonlyArray<readonly [string, boolean]> = [
    ['127.0.0.1', true],
    ['8.8.8.8', true],
    ['[::1]', true],
    ['::1', true],
    ['[fe80::1%25eth0]', true], // a literal; refusedAddressClass then refuses the zone id
    ['[2001:db8::1]', true],
    ['127.1', true],
    ['0x7f000001', true],
    ['2130706433', true],
    ['api.test', false],
    ['localhost', false],
    ['[api.test]', false],
    ['[::1', false],
    ['', false],
    ['1.2.3.4.5', false],
  ];
  for (const [host, expected] of cases) {
    it(`${host || '(empty)'} -> ${expected}`, () => {
      assert.equal(isIpLiteral(host), expected);
    });
  }

  it('agrees with WHATWG URL hostnames for IPv6', () => {
    const host = new URL('https://[0:0:0:0:0:ffff:7f00:1]:8443/').hostname;
    assert.equal(host, '[::ffff:7f00:1]');
    assert.equal(isIpLiteral(host), true);
    assert.equal(refusedAddressClass(unbracketHost(host)), 'ipv4Mapped');
  });
});
