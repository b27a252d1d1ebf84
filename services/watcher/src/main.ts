import { KubeConfig } from '@kubernetes/client-node';
import { createPool, databaseReadiness } from '@vigil/db';
import { runService } from '@vigil/service-runtime';
import { leaseNamespace, watcherEnv } from './config.js';
import { createWatcherMetrics } from './metrics.js';
import { Watcher } from './watcher.js';

void runService({
  name: 'watcher',
  env: watcherEnv,
  opsPort: (config) => config.OPS_PORT,
  logLevel: (config) => config.LOG_LEVEL,
  async start({ config, logger, registry }) {
    const kubeConfig = new KubeConfig();
    // In a pod: the mounted ServiceAccount token; in tests and `make dev`: KUBECONFIG.
    kubeConfig.loadFromDefault();
    const pool = createPool({ connectionString: config.DATABASE_URL.href, applicationName: `vigil-watcher/${config.POD_NAME}`, max: 3, statementTimeoutMs: 60_000 });
    const lease = {
      namespace: leaseNamespace(config),
      name: config.LEASE_NAME,
      identity: config.POD_NAME,
      leaseDurationMs: config.LEASE_DURATION,
      renewDeadlineMs: config.LEASE_RENEW_DEADLINE,
      retryPeriodMs: config.LEASE_RETRY_PERIOD,
    };
    logger.info({ namespaces: config.WATCH_NAMESPACES.length > 0 ? config.WATCH_NAMESPACES : 'all', lease: `${lease.namespace}/${lease.name}`, identity: lease.identity }, 'starting');
    const watcher = new Watcher({ kubeConfig, pool, namespaces: config.WATCH_NAMESPACES, lease, logger, metrics: createWatcherMetrics(registry) });
    watcher.start();
    return {
      live: () => ({ ok: watcher.alive() }),
      async ready() {
        const [db, kube] = [await databaseReadiness(pool), watcher.status()];
        return { ok: db.ok && kube.ok, checks: { postgres: db.detail, kubernetes: kube.detail } };
      },
      async stop() {
        await watcher.stop();
        await pool.end();
      },
    };
  },
});
