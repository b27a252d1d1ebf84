import type { Pool } from '@vigil/db';
import type { ChecksRow, TransitionFacts, TransitionsRow, WebhookDeliveriesRow } from '@vigil/contracts';
import type { CheckSnapshot, DeliveryReport, PreviousReady, ReadyStatus } from './check-status.js';

const SNAPSHOT_COLUMNS = `c.uid, c.namespace, c.name, c.generation, c.state, c.state_since, c.last_code, c.last_latency_ms,
  c.last_reason, c.last_message, c.last_probe_at, r.ready_status, r.ready_since`;

type SnapshotRow = Pick<
  ChecksRow,
  'uid' | 'namespace' | 'name' | 'generation' | 'state' | 'state_since' | 'last_code' | 'last_latency_ms' | 'last_reason' | 'last_message' | 'last_probe_at'
> & {
  ready_status: ReadyStatus | null;
  ready_since: Date | null;
};

export interface CheckForStatus {
  check: CheckSnapshot;
  previous: PreviousReady | null;
}

function toCheck(row: SnapshotRow): CheckForStatus {
  return {
    check: {
      uid: row.uid,
      namespace: row.namespace,
      name: row.name,
      generation: row.generation,
      state: row.state,
      stateSince: row.state_since,
      code: row.last_code,
      latencyMs: row.last_latency_ms,
      reason: row.last_reason,
      message: row.last_message,
      lastProbeAt: row.last_probe_at,
    },
    previous: row.ready_status && row.ready_since ? { status: row.ready_status, since: row.ready_since } : null,
  };
}

export interface PendingTransition extends Omit<TransitionFacts, 'uid'> {
  id: number;
  checkUid: string;
  createdAt: Date;
  /** Part of a never-reported check's first success, which waits behind changes. */
  firstResult: boolean;
  /** The check's current row; null when the check was deleted meanwhile. */
  current: CheckForStatus | null;
}

/**
 * Transitions whose Event and status patch are not done yet, whole checks at
 * a time (a check's own transitions stay in order), with their check's
 * current row. Changes come first, oldest first: up to `changes` checks with
 * a transition to or from anything but `pending → up`, or whose status
 * already shows something. Then up to `firstResults` checks whose only news
 * is their first success: on a fresh install of thousands of checks those
 * queue behind the QPS budget for minutes, and a check going down must not
 * wait behind them.
 */
export async function pendingTransitions(pool: Pool, limits: { changes: number; firstResults: number }): Promise<PendingTransition[]> {
  type Row = SnapshotRow &
    Pick<TransitionsRow, 'from_state' | 'to_state' | 'at' | 'code' | 'latency_ms' | 'reason' | 'message' | 'created_at'> & {
      t_id: number; t_check_uid: string; t_namespace: string; t_name: string; t_url: string; exists: boolean; first_result: boolean;
    };
  const { rows } = await pool.query<Row>(
    `WITH pending AS (
       SELECT t.check_uid, min(t.id) AS first_id,
              NOT (bool_or(t.from_state <> 'pending' OR t.to_state <> 'up') OR bool_or(r.check_uid IS NOT NULL)) AS first_result
         FROM vigil.transitions t
         LEFT JOIN vigil.check_status_reports r ON r.check_uid = t.check_uid
        WHERE t.status_applied_at IS NULL
        GROUP BY t.check_uid
     ), chosen AS (
       (SELECT check_uid, first_id, first_result FROM pending WHERE NOT first_result ORDER BY first_id LIMIT $1)
       UNION ALL
       (SELECT check_uid, first_id, first_result FROM pending WHERE first_result ORDER BY first_id LIMIT $2)
     )
     SELECT t.id AS t_id, t.check_uid AS t_check_uid, t.namespace AS t_namespace, t.name AS t_name, t.url AS t_url,
            t.from_state, t.to_state, t.at, t.code, t.latency_ms, t.reason, t.message, t.created_at,
            p.first_result, c.uid IS NOT NULL AS exists, ${SNAPSHOT_COLUMNS}
       FROM chosen p
       JOIN vigil.transitions t ON t.check_uid = p.check_uid AND t.status_applied_at IS NULL
       LEFT JOIN vigil.checks c ON c.uid = t.check_uid
       LEFT JOIN vigil.check_status_reports r ON r.check_uid = t.check_uid
      ORDER BY p.first_result, p.first_id, t.id`,
    [limits.changes, limits.firstResults],
  );
  return rows.map((row) => ({
    id: row.t_id,
    checkUid: row.t_check_uid,
    namespace: row.t_namespace,
    name: row.t_name,
    url: row.t_url,
    from: row.from_state,
    to: row.to_state,
    at: row.at,
    code: row.code,
    latencyMs: row.latency_ms,
    reason: row.reason,
    message: row.message,
    createdAt: row.created_at,
    firstResult: row.first_result,
    current: row.exists ? toCheck(row) : null,
  }));
}

export async function markTransitionsApplied(pool: Pool, ids: number[]): Promise<void> {
  await pool.query(`UPDATE vigil.transitions SET status_applied_at = now() WHERE id = ANY($1::bigint[]) AND status_applied_at IS NULL`, [ids]);
}

/**
 * Checks whose status needs a patch: never patched, state changed, or — no
 * sooner than `periodMs` after the last patch — new probe figures or a new
 * generation. Changes of state come first, then the longest-waiting.
 */
export async function checksDueForRefresh(pool: Pool, periodMs: number, limit: number): Promise<CheckForStatus[]> {
  const { rows } = await pool.query<SnapshotRow>(
    `SELECT ${SNAPSHOT_COLUMNS}
       FROM vigil.checks c
       LEFT JOIN vigil.check_status_reports r ON r.check_uid = c.uid
      WHERE r.check_uid IS NULL
         OR r.state <> c.state
         OR (r.patched_at <= now() - make_interval(secs => $1::int / 1000.0)
             AND (r.last_probe_at IS DISTINCT FROM c.last_probe_at OR r.generation <> c.generation
                  OR r.code IS DISTINCT FROM c.last_code OR r.latency_ms IS DISTINCT FROM c.last_latency_ms))
      ORDER BY (r.check_uid IS NULL OR r.state <> c.state) DESC, r.patched_at NULLS FIRST
      LIMIT $2`,
    [periodMs, limit],
  );
  return rows.map(toCheck);
}

/** Records what was written to a check's status. */
export async function recordStatusReport(pool: Pool, check: CheckSnapshot, ready: PreviousReady): Promise<void> {
  await pool.query(
    `INSERT INTO vigil.check_status_reports (check_uid, patched_at, state, code, latency_ms, last_probe_at, generation, ready_status, ready_since)
     VALUES ($1, now(), $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (check_uid) DO UPDATE SET
       patched_at = now(), state = EXCLUDED.state, code = EXCLUDED.code, latency_ms = EXCLUDED.latency_ms,
       last_probe_at = EXCLUDED.last_probe_at, generation = EXCLUDED.generation,
       ready_status = EXCLUDED.ready_status, ready_since = EXCLUDED.ready_since`,
    [check.uid, check.state, check.code, check.latencyMs, check.lastProbeAt, check.generation, ready.status, ready.since],
  );
}

/** Reports of checks that no longer exist. */
export async function deleteOrphanReports(pool: Pool): Promise<number> {
  const { rowCount } = await pool.query(
    `DELETE FROM vigil.check_status_reports r WHERE NOT EXISTS (SELECT 1 FROM vigil.checks c WHERE c.uid = r.check_uid)`,
  );
  return rowCount ?? 0;
}

export interface PendingDeliveryReport extends DeliveryReport {
  receiver: string;
  lastError: string | null;
  checkUid: string;
  namespace: string;
  name: string;
  checkExists: boolean;
}

/** Delivery outcomes not yet shown in the status (lastDelivery) or as a WebhookFailed Event, oldest first. */
export async function pendingDeliveryReports(pool: Pool, limit: number): Promise<PendingDeliveryReport[]> {
  const { rows } = await pool.query<
    Pick<WebhookDeliveriesRow, 'id' | 'receiver' | 'event_type' | 'status' | 'attempts' | 'updated_at' | 'last_error'> &
      Pick<TransitionsRow, 'check_uid' | 'namespace' | 'name'> & { check_exists: boolean }
  >(
    `SELECT d.id, d.receiver, d.event_type, d.status, d.attempts, d.updated_at, d.last_error,
            t.check_uid, t.namespace, t.name, EXISTS (SELECT 1 FROM vigil.checks c WHERE c.uid = t.check_uid) AS check_exists
       FROM vigil.webhook_deliveries d
       JOIN vigil.transitions t ON t.id = d.transition_id
      WHERE d.report_pending
      ORDER BY d.updated_at
      LIMIT $1`,
    [limit],
  );
  return rows.map((r) => ({
    id: r.id,
    receiver: r.receiver,
    eventType: r.event_type,
    status: r.status,
    attempts: r.attempts,
    updatedAt: r.updated_at,
    lastError: r.last_error,
    checkUid: r.check_uid,
    namespace: r.namespace,
    name: r.name,
    checkExists: r.check_exists,
  }));
}

/** Clears the report flag of deliveries that have not changed since they were read. */
export async function clearDeliveryReports(pool: Pool, reports: Array<{ id: string; attempts: number; status: string }>): Promise<void> {
  await pool.query(
    `UPDATE vigil.webhook_deliveries d SET report_pending = false
       FROM unnest($1::text[], $2::int[], $3::text[]) AS u(id, attempts, status)
      WHERE d.id = u.id AND d.attempts = u.attempts AND d.status = u.status`,
    [reports.map((r) => r.id), reports.map((r) => r.attempts), reports.map((r) => r.status)],
  );
}
