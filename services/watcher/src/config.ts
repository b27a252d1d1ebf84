import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { duration, formatDuration, list, serviceEnv, str, withRules, type ConfigOf } from '@vigil/config';

export const watcherEnv = withRules(
  {
    ...serviceEnv,
    WATCH_NAMESPACES: list({ description: 'namespaces whose UptimeChecks are mirrored (comma list; empty: all namespaces)', default: [] }),
    POD_NAME: str({ description: 'identity in the leader-election Lease (downward API)', default: hostname() }),
    POD_NAMESPACE: str({ description: 'namespace the pod runs in (downward API)', default: '' }),
    LEASE_NAMESPACE: str({ description: 'namespace of the leader-election Lease (default: POD_NAMESPACE)', default: '' }),
    LEASE_NAME: str({ description: 'name of the leader-election Lease', default: 'vigil-watcher' }),
    LEASE_DURATION: duration({ description: 'how long standbys wait after the last renewal before taking over', default: 15_000, min: 1000 }),
    LEASE_RENEW_DEADLINE: duration({ description: 'how long the leader keeps trying to renew before it steps down', default: 10_000, min: 500 }),
    LEASE_RETRY_PERIOD: duration({ description: 'how often candidates try to acquire and the leader renews', default: 2_000, min: 100 }),
  },
  {
    uses: ['LEASE_DURATION', 'LEASE_RENEW_DEADLINE', 'LEASE_RETRY_PERIOD'],
    check: leaseTimingProblems,
  },
);

export type WatcherConfig = ConfigOf<typeof watcherEnv>;

const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** LEASE_NAMESPACE, else POD_NAMESPACE, else the in-cluster service-account namespace, else `default` (as client-go does). */
export function leaseNamespace(config: WatcherConfig): string {
  if (config.LEASE_NAMESPACE) return config.LEASE_NAMESPACE;
  if (config.POD_NAMESPACE) return config.POD_NAMESPACE;
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, 'utf8').trim() || 'default';
  } catch {
    return 'default';
  }
}

/** The timing rules client-go's leader election enforces; broken ones would let two leaders overlap. */
function leaseTimingProblems(config: { LEASE_DURATION: number; LEASE_RENEW_DEADLINE: number; LEASE_RETRY_PERIOD: number }): string[] {
  const problems: string[] = [];
  const { LEASE_DURATION: lease, LEASE_RENEW_DEADLINE: renew, LEASE_RETRY_PERIOD: retry } = config;
  if (renew >= lease) problems.push(`LEASE_RENEW_DEADLINE=${formatDuration(renew)} must be less than LEASE_DURATION=${formatDuration(lease)}`);
  if (retry * 1.2 >= renew) problems.push(`LEASE_RETRY_PERIOD=${formatDuration(retry)} must be well below LEASE_RENEW_DEADLINE=${formatDuration(renew)} (at most renew deadline / 1.2)`);
  return problems;
}
