import { describe, expect, it } from '@jest/globals';
import { ConfigError, parseEnv } from '@vigil/config';
import { policyFromEnv, ssrfEnv } from './env.js';
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
