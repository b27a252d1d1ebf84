// Test fixtures: realistic rows written into the migrated schema the way the
// watcher, prober and alerter write them. The contract writes go through the
// same SQL functions the producers call (migration 0006): checks through
// vigil.upsert_checks, transitions through vigil.append_transition, outbox
// rows through vigil.enqueue_webhooks. Not part of the build.
import { randomUUID } from 'node:crypto';
import { CHECK_ROW_DEFAULTS, eventFor, type CheckEventType, type CheckState, type CheckUpsert, type DeliveryStatus } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { LATENCY_BUCKET_BOUNDS_MS } from '../checks/uptime.js';

export interface CheckSeed {
  namespace?: string;
  name: string;
  url?: string;
  publish?: boolean;
  displayName?: string | null;
  group?: string | null;
  state?: CheckState;
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
  const [uid] = await insertChecks(pool, [seed]);
  return uid!;
}

/**
 * Checks written in one statement by the watcher's function, then given what
 * the prober would have written since (last probe) and their creation time.
 */
export async function insertChecks(pool: Pool, seeds: CheckSeed[]): Promise<string[]> {
  const rows = seeds.map(
    (seed): CheckUpsert => ({
      ...CHECK_ROW_DEFAULTS,
      uid: seed.uid ?? randomUUID(),
      namespace: seed.namespace ?? 'default',
      name: seed.name,
      url: seed.url ?? `https://${seed.name}.internal.example/health`,
      headers: seed.headers ?? {},
      publish: seed.publish ?? true,
      display_name: seed.displayName ?? null,
      group_name: seed.group ?? null,
      seed_state: seed.state ?? 'up',
      seed_state_since: (seed.stateSince ?? new Date()).toISOString(),
    }),
  );
  await pool.query(`SELECT * FROM vigil.upsert_checks($1::jsonb)`, [JSON.stringify(rows)]);
  const probed = seeds.map((seed, i) => ({
    uid: rows[i]!.uid,
    last_code: seed.lastCode ?? (seed.state === 'down' ? 0 : 200),
    last_latency_ms: seed.lastLatencyMs ?? 42,
    last_probe_at: seed.lastProbeAt ?? new Date(),
    last_reason: seed.lastReason ?? null,
    last_message: seed.lastMessage ?? null,
    created_at: seed.createdAt ?? new Date(),
  }));
  await pool.query(
    `UPDATE vigil.checks c SET last_code = p.last_code, last_latency_ms = p.last_latency_ms, last_probe_at = p.last_probe_at,
       last_reason = p.last_reason, last_message = p.last_message, created_at = p.created_at
     FROM jsonb_to_recordset($1::jsonb) AS p(uid uuid, last_code integer, last_latency_ms integer, last_probe_at timestamptz,
       last_reason text, last_message text, created_at timestamptz)
     WHERE c.uid = p.uid`,
    [JSON.stringify(probed)],
  );
  return rows.map((r) => r.uid);
}

/** Deletes a check's row as the watcher does when the object goes. */
export async function retireCheck(pool: Pool, uid: string): Promise<void> {
  await pool.query(`SELECT vigil.retire_checks(ARRAY[$1::uuid])`, [uid]);
}

/** A state change as the prober writes it on the check row (its transition is seeded separately). */
export async function setCheckState(pool: Pool, uid: string, state: CheckState, since: Date, reason: string | null = null): Promise<void> {
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
  from: CheckState;
  to: CheckState;
  at: Date;
  code?: number;
  reason?: string | null;
  message?: string | null;
}

/**
 * A transition in a check's history, logged by the prober's function
 * (vigil.append_transition) without moving the check's current state, which
 * each test seeds on its own. Outbox rows are added with insertDelivery.
 */
export async function insertTransition(pool: Pool, t: TransitionSeed): Promise<number> {
  const { rows } = await pool.query<{ transition_id: number }>(
    `SELECT transition_id FROM vigil.append_transition($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11, $12, '{}')`,
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
      eventFor(t.to),
    ],
  );
  return rows[0]!.transition_id;
}

export interface DeliverySeed {
  transitionId: number;
  receiver: string;
  event: CheckEventType;
  status?: DeliveryStatus;
  createdAt?: Date;
  attempts?: Array<{ statusCode: number | null; error?: string | null; durationMs: number; responseExcerpt?: string | null; startedAt: Date }>;
}

/**
 * An outbox row written by the prober's function (vigil.enqueue_webhooks: its
 * webhook-id and body), then given the outcome the alerter would have recorded.
 */
export async function insertDelivery(pool: Pool, d: DeliverySeed): Promise<string> {
  const { rows } = await pool.query<{ delivery_id: string }>(`SELECT delivery_id FROM vigil.enqueue_webhooks($1, $2, ARRAY[$3])`, [d.transitionId, d.event, d.receiver]);
  const id = rows[0]!.delivery_id;
  const attempts = d.attempts ?? [];
  const last = attempts[attempts.length - 1];
  await pool.query(
    `UPDATE vigil.webhook_deliveries SET status = $2, attempts = $3, last_status_code = $4, last_error = $5, created_at = $6, updated_at = $6, delivered_at = $7
     WHERE id = $1`,
    [
      id,
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
