import { describe, expect, it } from '@jest/globals';
import { envProblems, parseEnv } from '@vigil/config';
import { DEFAULT_DENY_CIDRS, policyFromEnv } from '@vigil/net-guard';
import { alerterEnv } from './config.js';

const DATABASE_URL = 'postgres://vigil@db/vigil';

const problems = (env: NodeJS.ProcessEnv) => envProblems(alerterEnv, env);

describe('alerterEnv', () => {
  it('reads the SSRF settings with the shared parser: unset keeps the built-in deny list', () => {
    const config = parseEnv(alerterEnv, { DATABASE_URL, SSRF_DENY_CIDRS: '' });
    expect(config.SSRF_DENY_CIDRS).toEqual([]);
    expect(policyFromEnv(config).describe().deny).toEqual([...DEFAULT_DENY_CIDRS]);
    expect(policyFromEnv(config).isBlocked('169.254.169.254')).toBe(true);
    expect(policyFromEnv(parseEnv(alerterEnv, { DATABASE_URL, SSRF_ALLOW_CIDRS: '127.0.0.1/32' })).isBlocked('127.0.0.1')).toBe(false);
  });

  it('lists a bad CIDR and a bad retry schedule with the other bad variables, in one report', () => {
    expect(problems({ SSRF_ALLOW_CIDRS: '127.0.0.1/33', WEBHOOK_RETRY_SCHEDULE: '5s,0s', LOG_LEVEL: 'loud' })).toEqual([
      'DATABASE_URL is required (PostgreSQL connection URL)',
      'LOG_LEVEL="loud" is invalid: expected one of debug, info, warn, error',
      'WEBHOOK_RETRY_SCHEDULE="5s,0s" is invalid: every delay must be positive',
      'SSRF_ALLOW_CIDRS="127.0.0.1/33" is invalid: not a CIDR: 127.0.0.1/33',
    ]);
  });
});
