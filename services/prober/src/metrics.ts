import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export type ProberMetrics = ReturnType<typeof createProberMetrics>;

export function createProberMetrics(registry: Registry) {
  return {
    probes: new Counter({
      name: 'vigil_prober_probes_total',
      help: 'Probes finished, by result (success, failure) and reason (none for a success); rate() gives probes/s',
      labelNames: ['result', 'reason'] as const,
      registers: [registry],
    }),
    probeDuration: new Histogram({
      name: 'vigil_prober_probe_duration_seconds',
      help: 'Total time of a probe, redirects and capped body read included',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    lateness: new Histogram({
      name: 'vigil_prober_start_lateness_seconds',
      help: 'How long after its due time a probe started (database clock)',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    inFlight: new Gauge({ name: 'vigil_prober_probes_in_flight', help: 'Probes running now', registers: [registry] }),
    queued: new Gauge({ name: 'vigil_prober_probes_queued', help: 'Due probes waiting for room in their namespace’s share or for a concurrency slot (PROBE_CONCURRENCY)', registers: [registry] }),
    scheduled: new Gauge({ name: 'vigil_prober_checks_scheduled', help: 'Claimed slots waiting for their due time', registers: [registry] }),
    // Fair share. No per-namespace labels: tenants create namespaces, so a
    // namespace label would let them grow the series without bound.
    namespacesActive: new Gauge({ name: 'vigil_prober_namespaces_active', help: 'Namespaces running a probe in this replica or refused a slot in the last 5 s', registers: [registry] }),
    namespacesAtShare: new Gauge({ name: 'vigil_prober_namespaces_at_share', help: 'Namespaces whose in-flight probes fill their share of PROBE_CONCURRENCY in this replica', registers: [registry] }),
    namespaceShare: new Gauge({ name: 'vigil_prober_namespace_share', help: 'In-flight probes one namespace may have in this replica now', registers: [registry] }),
    shareDeferrals: new Counter({
      name: 'vigil_prober_share_deferrals_total',
      help: 'Claimed slots given back at their due time because their namespace had no room in its share',
      registers: [registry],
    }),
    aborted: new Counter({ name: 'vigil_prober_probes_aborted_total', help: 'Probes aborted at shutdown (not recorded; their claims released)', registers: [registry] }),
    claimed: new Counter({ name: 'vigil_prober_claimed_total', help: 'Check slots claimed from Postgres', registers: [registry] }),
    claimErrors: new Counter({ name: 'vigil_prober_claim_errors_total', help: 'Claim queries that failed', registers: [registry] }),
    resultsBuffered: new Gauge({ name: 'vigil_prober_results_buffered', help: 'Probe results waiting to be written', registers: [registry] }),
    transitionsBuffered: new Gauge({ name: 'vigil_prober_transitions_buffered', help: 'Transitions waiting to be written (never dropped for space)', registers: [registry] }),
    dropped: new Counter({
      name: 'vigil_prober_dropped_total',
      help: 'Records given up, by reason: buffer_full (oldest results beyond RESULT_BUFFER_LIMIT), rejected (a batch or transition Postgres refused repeatedly)',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    batches: new Counter({ name: 'vigil_prober_result_batches_total', help: 'Result batch transactions, by outcome (committed, failed)', labelNames: ['outcome'] as const, registers: [registry] }),
    batchSize: new Histogram({ name: 'vigil_prober_result_batch_size', help: 'Results per committed batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000], registers: [registry] }),
    transitions: new Counter({ name: 'vigil_prober_transitions_total', help: 'Transitions committed, by new state', labelNames: ['to'] as const, registers: [registry] }),
    postgresAvailable: new Gauge({ name: 'vigil_prober_postgres_available', help: '1 while the last claim reached Postgres, 0 during an outage (held checks are probed from memory)', registers: [registry] }),
    partitionsDropped: new Counter({ name: 'vigil_prober_partitions_dropped_total', help: 'probe_results partitions dropped after RESULT_RETENTION', registers: [registry] }),
  };
}
