import { hostname } from 'node:os';
import { duration, int, serviceEnv, str, withRules, type ConfigOf } from '@vigil/config';
import { MAX_TIMEOUT_MS } from '@vigil/contracts';
import { dnsServerList, ssrfEnv } from '@vigil/net-guard';

const env = {
  ...serviceEnv,
  ...ssrfEnv,
  POD_NAME: str({ description: 'identity written as lease_owner on claimed checks (downward API)', default: hostname() }),
  PROBE_CONCURRENCY: int({ description: 'probes running at once in this replica', default: 256, min: 1, max: 10_000 }),
  PROBE_NAMESPACE_MIN_SHARE: int({
    description: 'in-flight probes one namespace may always have in this replica, however many namespaces are active (the share is otherwise PROBE_CONCURRENCY / (active namespaces + 1))',
    default: 4,
    min: 1,
    max: 10_000,
  }),
  PROBE_TIMEOUT_MAX: duration({ description: 'a check’s timeout is clamped to this, whatever its row says', default: MAX_TIMEOUT_MS, min: 100, max: MAX_TIMEOUT_MS }),
  PROBE_SHUTDOWN_GRACE: duration({ description: 'on SIGTERM, running probes get this long to finish; the rest are aborted and their claims released', default: 3_000, min: 0, max: 20_000 }),
  CLAIM_LEASE: duration({ description: 'how long a claim outlives the check timeout; a dead replica’s checks are re-claimed after it', default: 15_000, min: 1_000 }),
  RESULT_FLUSH_INTERVAL: duration({ description: 'longest a probe result waits before its batch is written', default: 500, min: 10, max: 10_000 }),
  RESULT_BATCH_SIZE: int({ description: 'results written per batch at most; a full batch is written at once', default: 1_000, min: 1, max: 50_000 }),
  RESULT_BUFFER_LIMIT: int({ description: 'results kept in memory while Postgres is unreachable; beyond it the oldest are dropped', default: 100_000, min: 100 }),
  RESULT_RETENTION: duration({ description: 'raw probe results older than this are dropped (whole daily partitions)', default: 30 * 24 * 3_600_000, min: 24 * 3_600_000 }),
  DNS_SERVERS: dnsServerList({ description: 'DNS servers (ip, ip:port or [ipv6]:port) for probe targets; empty: the system resolvers' }),
};

export const proberEnv = withRules(env, {
  uses: ['PROBE_NAMESPACE_MIN_SHARE', 'PROBE_CONCURRENCY'],
  check: (c) =>
    c.PROBE_NAMESPACE_MIN_SHARE > c.PROBE_CONCURRENCY
      ? [`PROBE_NAMESPACE_MIN_SHARE (${c.PROBE_NAMESPACE_MIN_SHARE}) must be at most PROBE_CONCURRENCY (${c.PROBE_CONCURRENCY})`]
      : [],
});

export type ProberConfig = ConfigOf<typeof proberEnv>;
