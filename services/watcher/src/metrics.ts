import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type WatcherMetrics = ReturnType<typeof createWatcherMetrics>;

export function createWatcherMetrics(registry: Registry) {
  return {
    isLeader: new Gauge({ name: 'vigil_watcher_is_leader', help: '1 while this replica holds the leader Lease and mirrors checks, else 0', registers: [registry] }),
    checksMirrored: new Gauge({ name: 'vigil_watcher_checks_mirrored', help: 'Rows in vigil.checks within the watched namespaces after the last write', registers: [registry] }),
    syncLag: new Histogram({
      name: 'vigil_watcher_sync_lag_seconds',
      help: 'Time from receiving a change from the API server to committing it in Postgres (oldest change of each write transaction)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    writeTransactions: new Counter({ name: 'vigil_watcher_write_transactions_total', help: 'Committed write transactions on vigil.checks (each sends at most one NOTIFY)', registers: [registry] }),
    writeErrors: new Counter({ name: 'vigil_watcher_write_errors_total', help: 'Write transactions that failed and will be retried', registers: [registry] }),
    rowsChanged: new Counter({ name: 'vigil_watcher_rows_changed_total', help: 'Rows inserted, updated or deleted in vigil.checks', labelNames: ['op'] as const, registers: [registry] }),
    objectsRefused: new Counter({
      name: 'vigil_watcher_objects_refused_total',
      help: 'UptimeChecks that could not be stored, counted once each time one starts being refused, by reason (StoreRefused: Postgres refused the row; InvalidSpec)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    objectsIsolated: new Gauge({ name: 'vigil_watcher_objects_isolated', help: 'UptimeChecks currently left out of vigil.checks because they cannot be stored', registers: [registry] }),
    watchRestarts: new Counter({ name: 'vigil_watcher_watch_restarts_total', help: 'Watch connections re-established, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    relists: new Counter({ name: 'vigil_watcher_relists_total', help: 'Full lists of UptimeChecks, by reason (start, gone, error)', labelNames: ['reason'] as const, registers: [registry] }),
    relistDuration: new Histogram({
      name: 'vigil_watcher_relist_duration_seconds',
      help: 'Time to list every UptimeCheck in a scope',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}
