import { describe, expect, it } from '@jest/globals';
import { envProblems } from '@vigil/config';
import { proberEnv } from './config.js';

const problems = (env: NodeJS.ProcessEnv) => envProblems(proberEnv, env);

describe('proberEnv', () => {
  it('accepts the defaults', () => expect(problems({ DATABASE_URL: 'postgres://vigil@db/vigil' })).toEqual([]));

  it('lists a bad CIDR and a bad DNS server with the other bad variables, in one report', () => {
    expect(problems({ SSRF_DENY_CIDRS: '10.0.0.0/8,nope', DNS_SERVERS: 'dns.example', RESULT_BATCH_SIZE: '0' })).toEqual([
      'DATABASE_URL is required (PostgreSQL connection URL)',
      'SSRF_DENY_CIDRS="10.0.0.0/8,nope" is invalid: not a CIDR: nope',
      'RESULT_BATCH_SIZE="0" is invalid: must be at least 1',
      'DNS_SERVERS="dns.example" is invalid: not a DNS server address: dns.example',
    ]);
  });
});
