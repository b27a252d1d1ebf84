import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric the alerter exports (prefix vigil_alerter_). Receiver names are configuration, so bounded. */
export function createAlerterMetrics(registry: Registry) {
  const registers = [registry];
  return {
    deliveries: new Counter({
      name: 'vigil_alerter_deliveries_total',
      help: 'Delivery attempts by outcome: delivered, retry (will be retried), dead (out of attempts), disabled (receiver answered 410), released (alerter stopped mid-attempt)',
      labelNames: ['receiver', 'outcome'] as const,
      registers,
    }),
    attemptDuration: new Histogram({
      name: 'vigil_alerter_webhook_attempt_duration_seconds',
      help: 'Duration of webhook attempts, by receiver and result class (2xx, 3xx, 4xx, 5xx, timeout, blocked, error)',
      labelNames: ['receiver', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30],
      registers,
    }),
    inFlight: new Gauge({ name: 'vigil_alerter_deliveries_in_flight', help: 'Webhook attempts in progress in this replica', registers }),
    pending: new Gauge({ name: 'vigil_alerter_deliveries_pending', help: 'Pending deliveries (queue depth), all replicas', registers }),
    oldestPendingAge: new Gauge({
      name: 'vigil_alerter_oldest_pending_delivery_age_seconds',
      help: 'Age of the oldest pending delivery (0 when none)',
      registers,
    }),
    receivers: new Gauge({ name: 'vigil_alerter_receivers', help: 'Receivers in the loaded configuration', registers }),
    receiverReloads: new Counter({
      name: 'vigil_alerter_receivers_reloads_total',
      help: 'Re-reads of the receivers file that found a change (changed) or a broken file (invalid)',
      labelNames: ['result'] as const,
      registers,
    }),
    wakeups: new Counter({
      name: 'vigil_alerter_wakeups_total',
      help: 'Wake-ups by source: notify, reconnect (catch-up), poll (backstop)',
      labelNames: ['source'] as const,
      registers,
    }),
    listening: new Gauge({ name: 'vigil_alerter_listen_connected', help: '1 while the LISTEN connection is up', registers }),
    statusWriter: new Gauge({ name: 'vigil_alerter_status_writer', help: '1 while this replica is the one writing UptimeCheck status and Events', registers }),
    statusPatches: new Counter({
      name: 'vigil_alerter_status_patches_total',
      help: 'UptimeCheck /status merge patches by kind (transition, refresh, delivery) and result (ok, not_found, error)',
      labelNames: ['kind', 'result'] as const,
      registers,
    }),
    budgetWait: new Histogram({
      name: 'vigil_alerter_patch_budget_wait_seconds',
      help: 'Time a status patch or Event write waited for the client-side QPS budget',
      buckets: [0, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    events: new Counter({
      name: 'vigil_alerter_events_total',
      help: 'Kubernetes Events written, by reason (Down, Up, WebhookFailed) and action (created, aggregated, error)',
      labelNames: ['reason', 'action'] as const,
      registers,
    }),
    transitionToStatusSeconds: new Histogram({
      name: 'vigil_alerter_transition_to_status_seconds',
      help: 'From a transition row being committed to its status patch being accepted',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
  };
}

export type AlerterMetrics = ReturnType<typeof createAlerterMetrics>;
