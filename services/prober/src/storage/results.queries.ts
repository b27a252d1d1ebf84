import { CHANNELS } from '@vigil/contracts';
import { LATENCY_BUCKET_COUNT, type PoolClient } from '@vigil/db';
import type { ProbeRecord } from '../types.js';
import type { RollupRow } from './rollups.js';

const iso = (ms: number) => new Date(ms).toISOString();

/** One multi-row insert (arrays unnested server-side): one round trip per batch. */
export async function insertResults(client: PoolClient, prober: string, records: readonly ProbeRecord[]): Promise<void> {
  await client.query(
    `INSERT INTO vigil.probe_results (check_uid, started_at, due_at, ok, code, reason, message, dns_ms, connect_ms, tls_ms, ttfb_ms, total_ms, prober)
     SELECT u.*, $13::text
     FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::boolean[], $5::int[], $6::text[], $7::text[],
                 $8::real[], $9::real[], $10::real[], $11::real[], $12::real[]) AS u`,
    [
      records.map((r) => r.uid),
      records.map((r) => iso(r.startedAt)),
      records.map((r) => iso(r.dueAt)),
      records.map((r) => r.outcome.ok),
      records.map((r) => r.outcome.code),
      records.map((r) => r.outcome.reason),
      records.map((r) => r.outcome.message),
      records.map((r) => r.outcome.timings.dnsMs),
      records.map((r) => r.outcome.timings.connectMs),
      records.map((r) => r.outcome.timings.tlsMs),
      records.map((r) => r.outcome.timings.ttfbMs),
      records.map((r) => r.outcome.timings.totalMs),
      prober,
    ],
  );
}

/**
 * Stores each check's latest result on its row, schedules its next slot and
 * releases this replica's lease. A row edited meanwhile (generation changed:
 * the watcher made it due now) keeps its due time; a result older than the
 * row's last probe (possible only after an outage) changes nothing. The
 * transition of the same probe, if any, may have stored its result already. Rows are
 * locked in uid order, as every batch does, so concurrent batches never deadlock.
 */
export async function completeProbes(client: PoolClient, prober: string, records: readonly ProbeRecord[]): Promise<number> {
  const sorted = [...records].sort((a, b) => (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  const result = await client.query(
    `UPDATE vigil.checks c SET
       consecutive_failures = u.failures,
       consecutive_successes = u.successes,
       last_probe_at = u.started_at,
       last_code = u.code,
       last_latency_ms = u.latency_ms,
       last_reason = u.reason,
       last_message = u.message,
       next_due_at = CASE WHEN c.generation = u.generation AND c.next_due_at < u.next_due_at THEN u.next_due_at ELSE c.next_due_at END,
       lease_owner = CASE WHEN c.lease_owner = $11 THEN NULL ELSE c.lease_owner END,
       lease_expires_at = CASE WHEN c.lease_owner = $11 THEN NULL ELSE c.lease_expires_at END,
       updated_at = now()
     FROM unnest($1::uuid[], $2::bigint[], $3::int[], $4::int[], $5::timestamptz[], $6::int[], $7::int[], $8::text[], $9::text[], $10::timestamptz[])
          AS u(uid, generation, failures, successes, started_at, code, latency_ms, reason, message, next_due_at)
     WHERE c.uid = u.uid AND (c.last_probe_at IS NULL OR c.last_probe_at <= u.started_at)`,
    [
      sorted.map((r) => r.uid),
      sorted.map((r) => r.generation),
      sorted.map((r) => r.counters.consecutiveFailures),
      sorted.map((r) => r.counters.consecutiveSuccesses),
      sorted.map((r) => iso(r.startedAt)),
      sorted.map((r) => r.outcome.code),
      sorted.map((r) => Math.round(r.outcome.timings.totalMs)),
      sorted.map((r) => r.outcome.reason),
      sorted.map((r) => r.outcome.message),
      sorted.map((r) => iso(r.nextDueAt)),
      prober,
    ],
  );
  return result.rowCount ?? 0;
}

/**
 * Adds a batch's aggregates to the hour and day rollups. The histogram arrays
 * travel as one flat array sliced per row; existing and new counts are summed
 * element by element.
 */
export async function upsertRollups(client: PoolClient, rows: readonly RollupRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO vigil.uptime_rollups AS r (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
     SELECT u.uid, u.granularity, u.bucket_start, u.probes, u.successes, u.latency_sum, u.latency_max,
            ($8::int[])[(u.ord - 1) * $9 + 1 : u.ord * $9]
     FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::int[], $5::int[], $6::float8[], $7::float8[])
          WITH ORDINALITY AS u(uid, granularity, bucket_start, probes, successes, latency_sum, latency_max, ord)
     ORDER BY u.uid, u.granularity, u.bucket_start
     ON CONFLICT (check_uid, granularity, bucket_start) DO UPDATE SET
       probes = r.probes + EXCLUDED.probes,
       successes = r.successes + EXCLUDED.successes,
       latency_sum_ms = r.latency_sum_ms + EXCLUDED.latency_sum_ms,
       latency_max_ms = greatest(r.latency_max_ms, EXCLUDED.latency_max_ms),
       latency_buckets = (SELECT array_agg(coalesce(a, 0) + coalesce(b, 0) ORDER BY i)
                          FROM unnest(r.latency_buckets, EXCLUDED.latency_buckets) WITH ORDINALITY AS t(a, b, i))`,
    [
      rows.map((r) => r.uid),
      rows.map((r) => r.granularity),
      rows.map((r) => iso(r.bucketStart)),
      rows.map((r) => r.probes),
      rows.map((r) => r.successes),
      rows.map((r) => r.latencySumMs),
      rows.map((r) => r.latencyMaxMs),
      rows.flatMap((r) => r.latencyBuckets),
      LATENCY_BUCKET_COUNT,
    ],
  );
}

/** One wake-up for status readers per committed batch, never one per result. */
export async function notifyStatus(client: PoolClient): Promise<void> {
  await client.query(`SELECT pg_notify($1, '')`, [CHANNELS.status]);
}
