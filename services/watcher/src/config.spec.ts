import { describe, expect, it } from '@jest/globals';
import { envProblems } from '@vigil/config';
import { watcherEnv } from './config.js';

const problems = (env: NodeJS.ProcessEnv) => envProblems(watcherEnv, env);

describe('watcherEnv', () => {
  it('accepts the default lease timings', () => expect(problems({ DATABASE_URL: 'postgres://vigil@db/vigil' })).toEqual([]));

  it('lists broken lease timings with the other bad variables, in one report', () => {
    expect(problems({ OPS_PORT: '99999', LEASE_DURATION: '10s', LEASE_RENEW_DEADLINE: '10s', LEASE_RETRY_PERIOD: '9s' })).toEqual([
      'DATABASE_URL is required (PostgreSQL connection URL)',
      'OPS_PORT="99999" is invalid: must be at most 65535',
      'LEASE_RENEW_DEADLINE=10s must be less than LEASE_DURATION=10s',
      'LEASE_RETRY_PERIOD=9s must be well below LEASE_RENEW_DEADLINE=10s (at most renew deadline / 1.2)',
    ]);
  });
});
