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

  it('refuses a minimum namespace share above the concurrency, and a timeout cap above 60s', () => {
    expect(problems({ DATABASE_URL: 'postgres://vigil@db/vigil', PROBE_CONCURRENCY: '8', PROBE_NAMESPACE_MIN_SHARE: '16', PROBE_TIMEOUT_MAX: '2m' })).toEqual([
      'PROBE_TIMEOUT_MAX="2m" is invalid: must be at most 1m',
      'PROBE_NAMESPACE_MIN_SHARE (16) must be at most PROBE_CONCURRENCY (8)',
    ]);
  });
});
