import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseEnv } from '@vigil/config';
import { dnsServerList, policyFromEnv, ssrfEnv } from './env.js';
import { DEFAULT_DENY_CIDRS } from './policy.js';

describe('ssrfEnv', () => {
  it('defaults to the guard on with the default deny list', () => {
    const config = parseEnv(ssrfEnv, {});
    expect(config).toEqual({ SSRF_GUARD: true, SSRF_DENY_CIDRS: [], SSRF_DENY_CIDRS_REPLACE_DEFAULTS: [], SSRF_ALLOW_CIDRS: [] });
    expect(policyFromEnv(config).describe()).toEqual({ deny: [...DEFAULT_DENY_CIDRS], allow: [] });
    expect(policyFromEnv(config).isBlocked('169.254.169.254')).toBe(true);
  });

  it('adds SSRF_DENY_CIDRS to the defaults, and allow overrides deny', () => {
    const config = parseEnv(ssrfEnv, { SSRF_DENY_CIDRS: '10.0.0.0/8, 192.168.0.0/16', SSRF_ALLOW_CIDRS: '10.1.0.0/16' });
    const policy = policyFromEnv(config);
    expect(policy.isBlocked('10.2.0.1')).toBe(true);
    expect(policy.isBlocked('10.1.0.1')).toBe(false);
    expect(policy.isBlocked('192.168.1.1')).toBe(true);
    // The defaults stay: a deny list meant as "also these" cannot drop the metadata ranges.
    expect(policy.isBlocked('127.0.0.1')).toBe(true);
    expect(policy.isBlocked('169.254.169.254')).toBe(true);
    expect(policy.describe().deny).toEqual([...DEFAULT_DENY_CIDRS, '10.0.0.0/8', '192.168.0.0/16']);
  });

  it('replaces the defaults only with SSRF_DENY_CIDRS_REPLACE_DEFAULTS, to which SSRF_DENY_CIDRS still adds', () => {
    const policy = policyFromEnv(parseEnv(ssrfEnv, { SSRF_DENY_CIDRS_REPLACE_DEFAULTS: '169.254.169.254/32', SSRF_DENY_CIDRS: '10.0.0.0/8' }));
    expect(policy.describe().deny).toEqual(['169.254.169.254/32', '10.0.0.0/8']);
    expect(policy.isBlocked('169.254.169.254')).toBe(true);
    expect(policy.isBlocked('10.0.0.1')).toBe(true);
    expect(policy.isBlocked('127.0.0.1')).toBe(false);
    expect(policy.isBlocked('169.254.170.23')).toBe(false);
  });

  it('names a bad CIDR in the replacement list too', () => {
    expect(() => parseEnv(ssrfEnv, { SSRF_DENY_CIDRS_REPLACE_DEFAULTS: '10.0.0.0/8,nope' })).toThrow(
      new ConfigError(['SSRF_DENY_CIDRS_REPLACE_DEFAULTS="10.0.0.0/8,nope" is invalid: not a CIDR: nope']),
    );
  });

  it('names every bad CIDR', () => {
    let error: unknown;
    try {
      parseEnv(ssrfEnv, { SSRF_ALLOW_CIDRS: '127.0.0.1/33,nope,10.0.0.0/8' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual(['SSRF_ALLOW_CIDRS="127.0.0.1/33,nope,10.0.0.0/8" is invalid: not a CIDR: 127.0.0.1/33, nope']);
  });
});

describe('dnsServerList', () => {
  const spec = { DNS_SERVERS: dnsServerList({ description: 'resolvers' }) };

  it('reads addresses with and without ports; empty means the system resolvers', () => {
    expect(parseEnv(spec, { DNS_SERVERS: '10.0.0.10, 10.0.0.11:5353,[fd00::53]:53' }).DNS_SERVERS).toEqual(['10.0.0.10', '10.0.0.11:5353', '[fd00::53]:53']);
    expect(parseEnv(spec, {}).DNS_SERVERS).toEqual([]);
  });

  it('names every entry the resolver refuses', () => {
    expect(() => parseEnv(spec, { DNS_SERVERS: '10.0.0.10,dns.example,300.1.1.1' })).toThrow(
      new ConfigError(['DNS_SERVERS="10.0.0.10,dns.example,300.1.1.1" is invalid: not a DNS server address: dns.example, 300.1.1.1']),
    );
  });
});
