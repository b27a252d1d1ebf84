import { describe, expect, it } from '@jest/globals';
import { DEFAULT_DENY_CIDRS, createAddressPolicy } from './policy.js';

describe('the default policy', () => {
  const policy = createAddressPolicy();

  it.each([
    '127.0.0.1',
    '127.255.255.254',
    '::1',
    '0:0:0:0:0:0:0:1',
    '169.254.169.254',
    '169.254.170.23',
    'fe80::1',
    'fe80::1%eth0',
    'fd00:ec2::254',
    'fd00:ec2::253',
    'fd00:ec2::23',
    '100.100.100.200',
    '168.63.129.16',
    '64:ff9b:1::a9fe:a9fe',
    '64:ff9b:1:ffff::1',
    '0.0.0.0',
    '::',
    // The same addresses in other spellings.
    '::ffff:169.254.169.254',
    '::ffff:a9fe:a9fe',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::a9fe:a9fe',
    // IPv4-compatible (deprecated): refused as a range, whatever IPv4 address it carries.
    '::169.254.169.254',
    '::a9fe:a9fe',
    '::10.0.0.1',
    '::8.8.8.8',
    '::0.0.0.2',
    '2852039166',
    '0xa9fea9fe',
    '0251.0376.0251.0376',
    '169.254.43518',
    '127.1',
    '0x7f000001',
    '017700000001',
    '[::1]',
    '127.0.0.1.',
    // Not an address at all: fail closed.
    'example.com',
    '',
  ])('blocks %p', (address) => expect(policy.isBlocked(address)).toBe(true));

  it.each(['93.184.216.34', '10.0.0.1', '192.168.1.10', '172.16.0.5', '100.100.100.201', '2606:4700::1111', 'fd00:ec2::252', '168.63.129.17', '64:ff9b:2::1', '::1:0:0:1', '::ffff:10.0.0.1', '64:ff9b::a00:1'])(
    'allows %p',
    (address) => expect(policy.isBlocked(address)).toBe(false),
  );

  it('describes itself', () => expect(policy.describe()).toEqual({ deny: [...DEFAULT_DENY_CIDRS], allow: [] }));
});

describe('a configured policy', () => {
  it('lets allow override deny, also for the mapped form', () => {
    const policy = createAddressPolicy({ allow: ['127.0.0.1/32'] });
    expect(policy.isBlocked('127.0.0.1')).toBe(false);
    expect(policy.isBlocked('::ffff:127.0.0.1')).toBe(false);
    expect(policy.isBlocked('127.0.0.2')).toBe(true);
    expect(policy.isBlocked('169.254.169.254')).toBe(true);
  });

  it('judges an IPv4-compatible address as its IPv4 address for allow, like the mapped form', () => {
    const policy = createAddressPolicy({ allow: ['10.0.0.0/8'] });
    expect(policy.isBlocked('::10.0.0.1')).toBe(false);
    expect(policy.isBlocked('::ffff:10.0.0.1')).toBe(false);
    expect(policy.isBlocked('::11.0.0.1')).toBe(true);
    expect(createAddressPolicy({ deny: ['10.0.0.0/8'] }).isBlocked('::10.0.0.1')).toBe(true);
  });

  it('lets a deny range in IPv6 spelling catch the IPv6 spelling of an IPv4 address, not the IPv4 address', () => {
    const policy = createAddressPolicy({ deny: ['::/96'] });
    expect(policy.isBlocked('::93.184.216.34')).toBe(true);
    expect(policy.isBlocked('93.184.216.34')).toBe(false);
    expect(policy.isBlocked('::ffff:93.184.216.34')).toBe(false);
  });

  it('keeps :: and ::1 as themselves, so allowing ::1 allows the IPv6 loopback', () => {
    const policy = createAddressPolicy({ allow: ['::1/128'] });
    expect(policy.isBlocked('::1')).toBe(false);
    expect(policy.isBlocked('::')).toBe(true);
    expect(policy.isBlocked('127.0.0.1')).toBe(true);
  });

  it('uses the given deny list instead of the default', () => {
    const policy = createAddressPolicy({ deny: ['10.0.0.0/8'] });
    expect(policy.isBlocked('10.1.2.3')).toBe(true);
    expect(policy.isBlocked('127.0.0.1')).toBe(false);
    expect(policy.describe()).toEqual({ deny: ['10.0.0.0/8'], allow: [] });
  });

  it('allows everything when disabled', () => {
    const policy = createAddressPolicy({ enabled: false });
    expect(policy.isBlocked('169.254.169.254')).toBe(false);
    expect(policy.describe().deny).toEqual([]);
  });

  it('refuses a bad CIDR at construction, naming it', () => {
    expect(() => createAddressPolicy({ allow: ['127.0.0.1/40'] })).toThrow('invalid CIDR "127.0.0.1/40"');
  });
});
