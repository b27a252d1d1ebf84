import { describe, expect, it } from '@jest/globals';
import { effectiveAddress, ipInCidr, ipLiteral, normaliseHost, parseCidr } from './address.js';

describe('normaliseHost', () => {
  it.each([
    ['2852039166', '169.254.169.254'], // decimal
    ['0xa9fea9fe', '169.254.169.254'], // hex
    ['0xA9FEA9FE', '169.254.169.254'],
    ['0251.0376.0251.0376', '169.254.169.254'], // octal
    ['0xa9.0xfe.0xa9.0xfe', '169.254.169.254'], // hex per part
    ['169.254.43518', '169.254.169.254'], // short forms
    ['169.16689662', '169.254.169.254'],
    ['127.1', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['127.0.0.1.', '127.0.0.1'], // trailing dot
    ['[::1]', '::1'],
    ['[::FFFF:A9FE:A9FE]', '::ffff:a9fe:a9fe'],
    ['[0:0:0:0:0:ffff:169.254.169.254]', '::ffff:a9fe:a9fe'],
    ['Example.COM.', 'example.com'],
    ['localhost.', 'localhost'],
    ['0x1g.example', '0x1g.example'],
  ])('%s → %s', (raw, expected) => expect(normaliseHost(raw)).toBe(expected));

  it('tells literals from names', () => {
    expect(ipLiteral('2852039166')).toBe('169.254.169.254');
    expect(ipLiteral('[::1]')).toBe('::1');
    expect(ipLiteral('example.com')).toBeUndefined();
  });
});

describe('effectiveAddress', () => {
  it.each([
    ['::ffff:169.254.169.254', '169.254.169.254', 4],
    ['::ffff:a9fe:a9fe', '169.254.169.254', 4],
    ['[::ffff:7f00:1]', '127.0.0.1', 4],
    ['64:ff9b::a9fe:a9fe', '169.254.169.254', 4], // NAT64 reaches the IPv4 address
    ['::169.254.169.254', '169.254.169.254', 4], // IPv4-compatible (deprecated)
    ['::a00:1', '10.0.0.1', 4],
    ['::0.0.0.2', '0.0.0.2', 4],
    ['::', '::', 6], // the unspecified and loopback addresses are not IPv4-compatible
    ['::1', '::1', 6],
    ['64:ff9b:1::a9fe:a9fe', '64:ff9b:1::a9fe:a9fe', 6], // local-use NAT64: where the IPv4 address sits is the site's choice
    ['0:0:0:0:0:0:0:1', '::1', 6],
    ['FD00:EC2:0:0:0:0:0:254', 'fd00:ec2::254', 6],
    ['fe80::1%eth0', 'fe80::1', 6],
    ['2001:db8::1', '2001:db8::1', 6],
    ['10.0.0.1', '10.0.0.1', 4],
  ])('%s reaches %s', (raw, address, family) => expect(effectiveAddress(raw)).toEqual({ address, family }));

  it('refuses names', () => expect(() => effectiveAddress('example.com')).toThrow(/not an IP address/));
});

describe('parseCidr and ipInCidr', () => {
  it('parses ranges and single hosts', () => {
    expect(parseCidr('169.254.0.0/16')).toEqual({ address: '169.254.0.0', prefix: 16, family: 4 });
    expect(parseCidr('FD00:EC2::254')).toEqual({ address: 'fd00:ec2::254', prefix: 128, family: 6 });
    expect(parseCidr(' 10.1.2.3 ')).toEqual({ address: '10.1.2.3', prefix: 32, family: 4 });
  });

  it.each(['10.0.0.0/33', 'fe80::/129', 'example.com/8', '10.0.0.0/', '10.0.0.0/x', ''])('refuses %p', (raw) =>
    expect(() => parseCidr(raw)).toThrow(/invalid CIDR/),
  );

  it('matches by prefix, across the IPv4-mapped form', () => {
    expect(ipInCidr('169.254.169.254', '169.254.0.0/16')).toBe(true);
    expect(ipInCidr('169.255.0.1', '169.254.0.0/16')).toBe(false);
    expect(ipInCidr('::ffff:a9fe:a9fe', '169.254.0.0/16')).toBe(true);
    expect(ipInCidr('::ffff:a9fe:a9fe', '::ffff:0:0/96')).toBe(true);
    expect(ipInCidr('fe80::abcd', 'fe80::/10')).toBe(true);
    expect(ipInCidr('febf::1', 'fe80::/10')).toBe(true);
    expect(ipInCidr('fec0::1', 'fe80::/10')).toBe(false);
    expect(ipInCidr('10.9.9.9', '10.0.0.0/8')).toBe(true);
    expect(ipInCidr('10.9.9.9', '::/0')).toBe(false);
  });
});
