import { describe, expect, it } from '@jest/globals';
import { envProblems } from '@vigil/config';
import { proberEnv } from './config.js';

const problems = (env: NodeJS.ProcessEnv) => envProblems(proberEnv, env);

describe('proberEnv', () => {
  it('accepts the defaults', () => expect(problems({ DATABASE_URL: 'postgres://vigil@db/vigil' })).toEqual([]));

  it('lists a bad CIDR, a bad DNS server and an inconsistent pair in one report', () => {
    expect(problems({ SSRF_DENY_CIDRS: '10.0.0.0/8,nope', DNS_SERVERS: 'dns.example', RESULT_BATCH_SIZE: '5000', RESULT_BUFFER_LIMIT: '1000' })).toEqual([
      'DATABASE_URL is required (PostgreSQL connection URL)',
      'SSRF_DENY_CIDRS="10.0.0.0/8,nope" is invalid: not a CIDR: nope',
      'DNS_SERVERS="dns.example" is invalid: not a DNS server address: dns.example',
      'RESULT_BATCH_SIZE=5000 must not exceed RESULT_BUFFER_LIMIT=1000',
    ]);
  });
});
