import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNELS } from '@vigil/contracts';
import { ListenSession, createPool, databaseReadiness } from '@vigil/db';
import { createResolver, policyFromEnv } from '@vigil/net-guard';
import { runService } from '@vigil/service-runtime';
import { proberEnv } from './config.js';
import { createProberMetrics } from './metrics.js';
import { PartitionMaintenance } from './partitions/maintenance.js';
import { DEFAULT_PROBE_OPTIONS } from './probe/probe.js';
import { releaseLeases } from './schedule/claims.queries.js';
import { Scheduler } from './schedule/scheduler.js';
import { ResultWriter } from './storage/result-writer.js';
import { TransitionWriter } from './transitions/transition-writer.js';

/** Slots due this soon are claimed and then started by a local timer at their due time. */
const CLAIM_LOOKAHEAD_MS = 1_000;
const CLAIM_INTERVAL_MS = 500;
/** After an outage, claiming waits at most this long for this replica's buffers to be written. */
const RECOVERY_FLUSH_MS = 5_000;
/** Writers get this long after SIGTERM to write what is buffered. */
const SHUTDOWN_FLUSH_MS = 10_000;

void runService({
  name: 'prober',
  env: proberEnv,
  opsPort: (config) => config.OPS_PORT,
  logLevel: (config) => config.LOG_LEVEL,
  async start({ config, logger, registry }) {
    const metrics = createProberMetrics(registry);
    const policy = policyFromEnv(config);
    const resolver = createResolver({ servers: config.DNS_SERVERS });
    const pool = createPool({ connectionString: config.DATABASE_URL.href, applicationName: `vigil-prober/${config.POD_NAME}`, max: 6, statementTimeoutMs: 30_000 });
    const maintenance = new PartitionMaintenance(pool, config.RESULT_RETENTION, metrics, logger);
    const results = new ResultWriter({
      pool,
      prober: config.POD_NAME,
      flushIntervalMs: config.RESULT_FLUSH_INTERVAL,
      batchSize: config.RESULT_BATCH_SIZE,
      bufferLimit: config.RESULT_BUFFER_LIMIT,
      metrics,
      logger,
      ensurePartitions: () => maintenance.run(),
    });
    const transitions = new TransitionWriter(pool, metrics, logger);
    const scheduler = new Scheduler({
      pool,
      prober: config.POD_NAME,
      concurrency: config.PROBE_CONCURRENCY,
      minNamespaceShare: config.PROBE_NAMESPACE_MIN_SHARE,
      maxTimeoutMs: config.PROBE_TIMEOUT_MAX,
      stopGraceMs: config.PROBE_SHUTDOWN_GRACE,
      leaseMs: config.CLAIM_LEASE,
      lookaheadMs: CLAIM_LOOKAHEAD_MS,
      claimIntervalMs: CLAIM_INTERVAL_MS,
      maxScheduled: Math.max(10_000, config.PROBE_CONCURRENCY * 4),
      probeOptions: { ...DEFAULT_PROBE_OPTIONS, policy, resolver },
      onRecovered: () => Promise.race([Promise.all([transitions.drain(), results.flush()]).then(() => undefined), sleep(RECOVERY_FLUSH_MS)]),
      results,
      transitions,
      metrics,
      logger,
    });
    // The claim period is the backstop: a missed notification costs at most one stale slot.
    const listener = new ListenSession({
      connectionString: config.DATABASE_URL.href,
      applicationName: `vigil-prober-listen/${config.POD_NAME}`,
      channels: [CHANNELS.checks],
      logger,
      onNotify: () => scheduler.checksChanged(),
      onCatchUp: () => scheduler.checksChanged(),
    });

    logger.info({ identity: config.POD_NAME, concurrency: config.PROBE_CONCURRENCY, minNamespaceShare: config.PROBE_NAMESPACE_MIN_SHARE, maxTimeoutMs: config.PROBE_TIMEOUT_MAX, ssrf: policy.describe() }, 'starting');
    maintenance.start();
    results.start();
    scheduler.start();
    listener.start();

    return {
      async ready() {
        const db = await databaseReadiness(pool);
        return {
          ok: db.ok,
          checks: { postgres: db.detail, listen: listener.connected ? 'ok' : 'reconnecting', resultsBuffered: String(results.buffered), transitionsBuffered: String(transitions.buffered) },
        };
      },
      async stop() {
        await listener.stop();
        maintenance.stop();
        await scheduler.stop();
        const deadline = Date.now() + SHUTDOWN_FLUSH_MS;
        await Promise.all([results.stop(deadline), transitions.stop(deadline)]);
        await releaseLeases(pool, config.POD_NAME, null).catch((err: Error) => logger.warn({ err: err.message }, 'cannot release leases'));
        await pool.end();
      },
    };
  },
});
