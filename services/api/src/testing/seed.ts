// Test fixtures: realistic rows written straight into the migrated schema, the
// way the watcher, prober and alerter write them. Not part of the build.
import { randomUUID } from 'node:crypto';
import type { Pool } from '@vigil/db';
import { LATENCY_BUCKET_BOUNDS_MS } from '../checks/uptime.js';

export interface CheckSeed {
  namespace?: string;
  name: string;
  url?: string;
  publish?: boolean;
  displayName?: string | null;
  group?: string | null;
  state?: 'up' | 'down' | 'pending' | 'paused';
  stateSince?: Date;
  lastCode?: number | null;
  lastLatencyMs?: number | null;
  lastProbeAt?: Date | null;
  lastReason?: string | null;
  lastMessage?: string | null;
  headers?: Record<string, string>;
  createdAt?: Date;
  uid?: string;
}

export async function insertCheck(pool: Pool, seed: CheckSeed): Promise<string> {
  const uid = seed.uid ?? randomUUID();
  await pool.query(
    `INSERT INTO vigil.checks (uid, namespace, name, generation, url, headers, interval_ms, timeout_ms, publish, display_name, group_name,
       state, state_since, last_code, last_latency_ms, last_probe_at, last_reason, last_message, created_at)
     VALUES ($1, $2, $3, 1, $4, $5, 30000, 10000, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      uid,
      seed.namespace ?? 'default',
      seed.name,
      seed.url ?? `https://${seed.name}.internal.example/health`,
      JSON.stringify(seed.headers ?? {}),
      seed.publish ?? true,
      seed.displayName ?? null,
      seed.group ?? null,
      seed.state ?? 'up',
      seed.stateSince ?? new Date(),
      seed.lastCode ?? (seed.state === 'down' ? 0 : 200),
      seed.lastLatencyMs ?? 42,
      seed.lastProbeAt ?? new Date(),
      seed.lastReason ?? null,
      seed.lastMessage ?? null,
      seed.createdAt ?? new Date(),
    ],
  );
  return uid;
}

export async function setCheckState(pool: Pool, uid: string, state: 'up' | 'down', since: Date, reason: string | null = null): Promise<void> {
  await pool.query(`UPDATE vigil.checks SET state = $2, state_since = $3, last_reason = $4, last_code = $5, updated_at = now() WHERE uid = $1`, [
    uid,
    state,
    since,
    reason,
    state === 'down' ? 0 : 200,
  ]);
}

export interface RollupSeed {
  uid: string;
  granularity: 'hour' | 'day';
  start: Date | string;
  probes: number;
  successes: number;
  /** Successful probes per latency bucket index (see LATENCY_BUCKET_BOUNDS_MS); defaults to all in the (50, 75] ms bucket. */
  buckets?: Record<number, number>;
  latencySumMs?: number;
  latencyMaxMs?: number;
}

export function histogram(counts: Record<number, number>): number[] {
  return Array.from({ length: LATENCY_BUCKET_BOUNDS_MS.length + 1 }, (_, i) => counts[i] ?? 0);
}

export async function insertRollups(pool: Pool, seeds: RollupSeed[]): Promise<void> {
  for (const s of seeds) {
    await pool.query(
      `INSERT INTO vigil.uptime_rollups (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        s.uid,
        s.granularity,
        new Date(s.start),
        s.probes,
        s.successes,
        s.latencySumMs ?? s.successes * 60,
        s.latencyMaxMs ?? (s.successes > 0 ? 70 : 0),
        histogram(s.buckets ?? { 5: s.successes }),
      ],
    );
  }
}

export interface TransitionSeed {
  uid: string;
  namespace?: string;
  name: string;
  url?: string;
  from: string;
  to: string;
  at: Date;
  code?: number;
  reason?: string | null;
  message?: string | null;
}

export async function insertTransition(pool: Pool, t: TransitionSeed): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    `INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message)
     VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
    [
      t.uid,
      t.namespace ?? 'default',
      t.name,
      t.url ?? `https://${t.name}.internal.example/health`,
      t.from,
      t.to,
      t.at,
      t.code ?? (t.to === 'down' ? 0 : 200),
      t.to === 'down' ? null : 40,
      t.reason ?? null,
      t.message ?? null,
    ],
  );
  return rows[0]!.id;
}

export interface DeliverySeed {
  transitionId: number;
  receiver: string;
  event: 'check.down' | 'check.up';
  status?: 'pending' | 'delivered' | 'dead' | 'disabled';
  createdAt?: Date;
  attempts?: Array<{ statusCode: number | null; error?: string | null; durationMs: number; responseExcerpt?: string | null; startedAt: Date }>;
}

export async function insertDelivery(pool: Pool, d: DeliverySeed): Promise<string> {
  const id = `msg_${randomUUID().replace(/-/g, '')}`;
  const attempts = d.attempts ?? [];
  const last = attempts[attempts.length - 1];
  await pool.query(
    `INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload, status, attempts, last_status_code, last_error, created_at, updated_at, delivered_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11)`,
    [
      id,
      d.transitionId,
      d.receiver,
      d.event,
      JSON.stringify({ type: d.event, timestamp: (d.createdAt ?? new Date()).toISOString(), data: { check: { transition: d.transitionId } } }),
      d.status ?? 'delivered',
      attempts.length,
      last?.statusCode ?? null,
      last?.error ?? null,
      d.createdAt ?? new Date(),
      d.status === 'delivered' ? (last?.startedAt ?? new Date()) : null,
    ],
  );
  for (const [i, a] of attempts.entries()) {
    await pool.query(
      `INSERT INTO vigil.webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt, alerter)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 'alerter-0')`,
      [id, i + 1, a.startedAt, a.durationMs, a.statusCode, a.error ?? null, a.responseExcerpt ?? null],
    );
  }
  return id;
}

export async function insertProbeResults(pool: Pool, uid: string, results: Array<{ at: Date; ok: boolean; code: number; totalMs: number; reason?: string; message?: string }>): Promise<void> {
  for (const r of results) {
    await pool.query(
      `INSERT INTO vigil.probe_results (check_uid, started_at, ok, code, reason, message, total_ms, prober) VALUES ($1, $2, $3, $4, $5, $6, $7, 'prober-0')`,
      [uid, r.at, r.ok, r.code, r.reason ?? null, r.message ?? null, r.totalMs],
    );
  }
}
