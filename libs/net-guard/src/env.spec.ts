import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseEnv } from '@vigil/config';
import { dnsServerList, policyFromEnv, ssrfEnv } from './env.js';
import { DEFAULT_DENY_CIDRS } from './policy.js';

describe('ssrfEnv', () => {
  it('defaults to the guard on with the default deny list', () => {
    const config = parseEnv(ssrfEnv, {});
    expect(config).toEqual({ SSRF_GUARD: true, SSRF_DENY_CIDRS: [...DEFAULT_DENY_CIDRS], SSRF_ALLOW_CIDRS: [] });
    expect(policyFromEnv(config).isBlocked('169.254.169.254')).toBe(true);
  });

  it('reads lists, and allow overrides deny', () => {
    const config = parseEnv(ssrfEnv, { SSRF_DENY_CIDRS: '10.0.0.0/8, 169.254.0.0/16', SSRF_ALLOW_CIDRS: '10.1.0.0/16' });
    const policy = policyFromEnv(config);
    expect(policy.isBlocked('10.2.0.1')).toBe(true);
    expect(policy.isBlocked('10.1.0.1')).toBe(false);
    expect(policy.isBlocked('127.0.0.1')).toBe(false);
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
