import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { CHANNELS } from '@vigil/contracts';
import { ListenSession, createPool, databaseReadiness } from '@vigil/db';
import { policyFromEnv } from '@vigil/net-guard';
import { runService } from '@vigil/service-runtime';
import { alerterEnv } from './config.js';
import { pendingStats } from './delivery/deliveries.queries.js';
import { Dispatcher } from './delivery/dispatcher.js';
import { WebhookClient } from './delivery/webhook-client.js';
import { createAlerterMetrics } from './metrics.js';
import { ReceiverRegistry } from './receivers/receiver-registry.js';
import { disableUndeliverable } from './receivers/receivers.queries.js';
import { EventRecorder } from './status/events.js';
import { StatusLock } from './status/status-lock.js';
import { StatusWriter } from './status/status-writer.js';
import { TokenBucket } from './status/token-bucket.js';

// In-flight attempts get this long to finish on SIGTERM before they are released to another replica.
const STOP_GRACE_MS = 10_000;

void runService({
  name: 'alerter',
  env: alerterEnv,
  opsPort: (config) => config.OPS_PORT,
  logLevel: (config) => config.LOG_LEVEL,
  async start({ config, logger, registry }) {
    const metrics = createAlerterMetrics(registry);
    const policy = policyFromEnv(config);
    const databaseUrl = config.DATABASE_URL.href;
    const kc = new KubeConfig();
    kc.loadFromDefault();
    // Every statement here is short; a stuck one (a lock held elsewhere) fails and is retried instead of hanging a loop.
    const pool = createPool({ connectionString: databaseUrl, applicationName: 'vigil-alerter', max: 10, statementTimeoutMs: 30_000 });
    const client = new WebhookClient(policy, config.WEBHOOK_TIMEOUT);
    const receivers = new ReceiverRegistry({
      file: config.RECEIVERS_FILE,
      reloadIntervalMs: config.RECEIVERS_RELOAD_INTERVAL,
      pool,
      logger,
      metrics,
      onChange: () => dispatcher.nudge(),
    });
    const dispatcher = new Dispatcher({
      pool,
      client,
      receivers,
      owner: config.POD_NAME,
      timeoutMs: config.WEBHOOK_TIMEOUT,
      schedule: config.WEBHOOK_RETRY_SCHEDULE,
      perReceiverConcurrency: config.WEBHOOK_RECEIVER_CONCURRENCY,
      stopGraceMs: STOP_GRACE_MS,
      logger,
      metrics,
      onOutcome: () => writer.nudge(),
    });
    const lock = new StatusLock(databaseUrl, logger, (held) => {
      metrics.statusWriter.set(held ? 1 : 0);
      if (held) writer.nudge();
    });
    const writer = new StatusWriter({
      pool,
      objects: kc.makeApiClient(CustomObjectsApi),
      events: new EventRecorder(kc.makeApiClient(CoreV1Api), config.POD_NAME),
      bucket: new TokenBucket(config.STATUS_PATCH_QPS, config.STATUS_PATCH_QPS),
      refreshPeriodMs: config.STATUS_REFRESH_PERIOD,
      qps: config.STATUS_PATCH_QPS,
      isWriter: () => lock.isHeld,
      logger,
      metrics,
    });

    const wake = (source: 'notify' | 'reconnect' | 'poll', status: boolean, deliveries: boolean) => {
      metrics.wakeups.inc({ source });
      if (deliveries) dispatcher.nudge();
      if (status) writer.nudge();
    };
    const listener = new ListenSession({
      connectionString: databaseUrl,
      applicationName: 'vigil-alerter-listen',
      channels: [CHANNELS.transitions, CHANNELS.status],
      logger,
      onNotify: (channel) => wake('notify', true, channel === CHANNELS.transitions),
      onCatchUp: () => {
        // Postgres is back: store receivers now if that failed before, rather than at the next re-read.
        if (!receivers.inSync) void receivers.reload();
        wake('reconnect', true, true);
      },
      onConnectedChange: (connected) => metrics.listening.set(connected ? 1 : 0),
      poll: {
        intervalMs: config.BACKSTOP_POLL_INTERVAL,
        run: () => {
          wake('poll', true, true);
          void (async () => {
            await disableUndeliverable(pool);
            const stats = await pendingStats(pool);
            metrics.pending.set(stats.pending);
            metrics.oldestPendingAge.set(stats.oldestAgeSeconds);
          })().catch((err) => logger.debug({ err: (err as Error).message }, 'backstop housekeeping failed'));
        },
      },
    });

    try {
      await receivers.start();
    } catch (err) {
      // An invalid receivers file at start-up ends the process; nothing may keep it alive.
      await receivers.stop();
      await pool.end();
      throw err;
    }
    listener.start();
    lock.start();

    return {
      async ready() {
        const db = await databaseReadiness(pool);
        return {
          ok: db.ok,
          checks: {
            postgres: db.detail,
            listen: listener.connected ? 'ok' : 'reconnecting',
            receivers: `${receivers.names().length} configured${receivers.inSync ? '' : ', not yet stored'}`,
            status: lock.isHeld ? `writer; apiserver ${writer.apiServer}` : 'standby',
          },
        };
      },
      async stop() {
        await listener.stop();
        await receivers.stop();
        await dispatcher.stop();
        await writer.stop();
        await lock.stop();
        await client.close();
        await pool.end();
      },
    };
  },
});
