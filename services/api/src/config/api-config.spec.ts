import { describe, expect, it } from '@jest/globals';
import { envProblems, parseEnv } from '@vigil/config';
import { apiEnv } from './api-config.js';

const base = { DATABASE_URL: 'postgres://vigil@db/vigil' };

describe('the api environment', () => {
  it('defaults to audience vigil, a 30 s / 5 s decision cache, 10 failures a minute, and no trusted proxy', () => {
    const config = parseEnv(apiEnv, base);
    expect([config.PORT, config.OPS_PORT, config.AUTH_AUDIENCE, config.AUTH_CACHE_TTL, config.AUTH_NEGATIVE_CACHE_TTL]).toEqual([8080, 9090, 'vigil', 30_000, 5_000]);
    expect([config.AUTH_FAILURE_LIMIT, config.AUTH_FAILURE_WINDOW, config.TRUSTED_PROXIES]).toEqual([10, 60_000, []]);
  });

  it('accepts the chart’s default trusted proxies (the private ranges)', () => {
    const TRUSTED_PROXIES = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,fc00::/7';
    expect(parseEnv(apiEnv, { ...base, TRUSTED_PROXIES }).TRUSTED_PROXIES).toEqual(TRUSTED_PROXIES.split(','));
  });

  it('refuses an audience with spaces, a cache longer than 5 minutes and a proxy that is not a CIDR', () => {
    expect(envProblems(apiEnv, { ...base, AUTH_AUDIENCE: 'my vigil', AUTH_CACHE_TTL: '1h', TRUSTED_PROXIES: 'traefik' })).toEqual([
      'AUTH_AUDIENCE="my vigil" is invalid: expected an audience of 1 to 253 printable characters without spaces',
      'AUTH_CACHE_TTL="1h" is invalid: must be at most 5m',
      'TRUSTED_PROXIES="traefik" is invalid: not a CIDR: traefik',
    ]);
  });
});
