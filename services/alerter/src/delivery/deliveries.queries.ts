import type { DeliveryStatus } from '@vigil/contracts';
import type { Pool } from '@vigil/db';

export interface ClaimedDelivery {
  id: string;
  receiver: string;
  /** The number of this attempt (1-based). */
  attempt: number;
  /** The stored payload as jsonb text: the same bytes on every attempt and in every replica. */
  body: string;
}

/**
 * Claims due deliveries for each receiver with free slots (`free[i]` for
 * `receivers[i]`), leasing them to `owner` for `leaseMs`. Rows whose previous
 * lease ran out without an outcome (their alerter died mid-attempt) get that
 * lost attempt logged before they are claimed again.
 */
export async function claimDueDeliveries(pool: Pool, receivers: string[], free: number[], owner: string, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await pool.query<ClaimedDelivery>(
    `WITH slots AS (
       SELECT s.receiver, s.free
         FROM unnest($1::text[], $2::int[]) AS s(receiver, free)
        WHERE EXISTS (SELECT 1 FROM vigil.webhook_receivers r WHERE r.name = s.receiver AND r.enabled)
     ), picked AS (
       SELECT d.id, d.attempts, d.locked_by, d.locked_until
         FROM slots s
         CROSS JOIN LATERAL (
           SELECT d.id, d.attempts, d.locked_by, d.locked_until
             FROM vigil.webhook_deliveries d
            WHERE d.receiver = s.receiver AND d.status = 'pending' AND d.next_attempt_at <= now()
              AND (d.locked_until IS NULL OR d.locked_until < now())
            ORDER BY d.next_attempt_at
            LIMIT s.free
              FOR UPDATE SKIP LOCKED
         ) d
     ), lost AS (
       INSERT INTO vigil.webhook_attempts (delivery_id, attempt, started_at, duration_ms, error, alerter)
       SELECT p.id, p.attempts, p.locked_until - make_interval(secs => $4::int / 1000.0), $4::int,
              'LeaseExpired: ' || p.locked_by || ' claimed this attempt and stopped before recording its outcome', p.locked_by
         FROM picked p
        WHERE p.locked_by IS NOT NULL
     )
     UPDATE vigil.webhook_deliveries d
        SET attempts = d.attempts + 1, locked_by = $3, locked_until = now() + make_interval(secs => $4::int / 1000.0), updated_at = now()
       FROM picked p
      WHERE d.id = p.id
     RETURNING d.id, d.receiver, d.attempts AS attempt, d.payload::text AS body`,
    [receivers, free, owner, leaseMs],
  );
  return rows;
}

/** When the next delivery of these (enabled) receivers falls due or its lease runs out; null when none is pending. */
export async function nextDueAt(pool: Pool, receivers: string[]): Promise<Date | null> {
  const { rows } = await pool.query<{ at: Date | null }>(
    `SELECT min(greatest(d.next_attempt_at, coalesce(d.locked_until, d.next_attempt_at))) AS at
       FROM vigil.webhook_deliveries d
      WHERE d.status = 'pending' AND d.receiver = ANY($1::text[])
        AND EXISTS (SELECT 1 FROM vigil.webhook_receivers r WHERE r.name = d.receiver AND r.enabled)`,
    [receivers],
  );
  return rows[0]?.at ?? null;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  owner: string;
  startedAt: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  excerpt: string | null;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
}

/**
 * Logs the attempt and records its outcome on the delivery, if `owner` still
 * holds this attempt's lease. Returns whether the delivery row was updated.
 */
export async function recordAttempt(pool: Pool, a: AttemptRecord): Promise<boolean> {
  const { rowCount } = await pool.query(
    `WITH logged AS (
       INSERT INTO vigil.webhook_attempts (delivery_id, attempt, started_at, duration_ms, status_code, error, response_excerpt, alerter)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     )
     UPDATE vigil.webhook_deliveries
        SET status = $9, next_attempt_at = coalesce($10, next_attempt_at), last_status_code = $5, last_error = $6,
            locked_by = NULL, locked_until = NULL, updated_at = now(), report_pending = true,
            delivered_at = CASE WHEN $9 = 'delivered' THEN now() ELSE delivered_at END
      WHERE id = $1 AND locked_by = $8 AND attempts = $2`,
    [a.deliveryId, a.attempt, a.startedAt, a.durationMs, a.statusCode, a.error, a.excerpt, a.owner, a.status, a.nextAttemptAt],
  );
  return rowCount === 1;
}

/** A 410 Gone: the receiver is disabled and its other waiting deliveries end as `disabled`. */
export async function disableReceiver(pool: Pool, receiver: string, reason: string): Promise<void> {
  await pool.query(
    `WITH receiver AS (
       UPDATE vigil.webhook_receivers SET enabled = false, disabled_reason = $2, updated_at = now() WHERE name = $1
     )
     UPDATE vigil.webhook_deliveries
        SET status = 'disabled', last_error = 'receiver disabled: ' || $2, report_pending = true, updated_at = now()
      WHERE receiver = $1 AND status = 'pending' AND locked_by IS NULL`,
    [receiver, reason],
  );
}

/** Queue depth and the age of the oldest pending delivery, for metrics. */
export async function pendingStats(pool: Pool): Promise<{ pending: number; oldestAgeSeconds: number }> {
  const { rows } = await pool.query<{ pending: number; oldest: number | null }>(
    `SELECT count(*)::int AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest
       FROM vigil.webhook_deliveries WHERE status = 'pending'`,
  );
  return { pending: rows[0]?.pending ?? 0, oldestAgeSeconds: rows[0]?.oldest ?? 0 };
}
