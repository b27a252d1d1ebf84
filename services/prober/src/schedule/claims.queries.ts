import type { ChecksRow, ProbeSpecColumn } from '@vigil/contracts';
import { withTransaction, type Pool } from '@vigil/db';
import type { ClaimedCheck } from '../types.js';
import type { ClaimRooms } from './shares.js';

type ClaimRow = Pick<ChecksRow, ProbeSpecColumn | 'next_due_at' | 'state' | 'consecutive_failures' | 'consecutive_successes'>;

/**
 * Claims up to `limit` check slots due before the claim horizon: rows not
 * paused whose lease is free or expired, locked with SKIP LOCKED so
 * concurrent replicas split the due rows instead of queueing on each other.
 * The horizon is the start of the current claim period (database clock, on a
 * grid of `periodMs` shared by every replica) plus `lookaheadMs`, so every
 * claim in one period, by any replica, reaches the same horizon. The lease
 * lasts until the slot's due time plus the check's timeout plus `leaseMs`:
 * long enough to probe and write the result, short enough that a dead
 * replica's slots are taken over soon. The timeout counted is the row's,
 * clamped to `maxTimeoutMs` as the probe is.
 *
 * Fair share: the namespaces in `rooms` are claimed at most `room` slots each
 * (their earliest due), the others up to `limit` together; so a replica whose
 * share of a namespace is full leaves that namespace's due slots to replicas
 * with room, and they do not crowd the other namespaces out of `limit`.
 * Returns the database clock and the horizon.
 */
export async function claimDueChecks(
  pool: Pool,
  params: { prober: string; periodMs: number; lookaheadMs: number; limit: number; leaseMs: number; maxTimeoutMs: number; rooms: ClaimRooms },
): Promise<{ checks: ClaimedCheck[]; clockOffsetMs: number; horizon: number }> {
  const claimed = await withTransaction(pool, async (client) => {
    // Never wait on a lock in the claim path: a stuck claim delays every probe.
    await client.query(`SET LOCAL lock_timeout = '1s'`);
    // The clock offset from this one round trip alone: now() is the
    // transaction's start, and the claim's UPDATE can take tens of ms, so
    // neither may stand for the moment between asking and answering.
    const askedAt = Date.now();
    const { rows: clock } = await client.query<{ db_clock: Date; horizon: Date }>(
      `SELECT clock_timestamp() AS db_clock, date_bin($1::int * interval '1 millisecond', now(), timestamptz 'epoch') + $2::int * interval '1 millisecond' AS horizon`,
      [params.periodMs, params.lookaheadMs],
    );
    const clockOffsetMs = clock[0]!.db_clock.getTime() - (askedAt + Date.now()) / 2;
    const { horizon } = clock[0]!;
    // Both halves materialized: each LIMIT with SKIP LOCKED must lock its rows
    // once, not again for every row the UPDATE joins against.
    const { rows } = await client.query<ClaimRow>(
      `WITH others AS MATERIALIZED (
         SELECT uid FROM vigil.checks
         WHERE NOT paused
           AND next_due_at <= $2
           AND (lease_expires_at IS NULL OR lease_expires_at < now())
           AND namespace <> ALL($6::text[])
         ORDER BY next_due_at
         LIMIT $3
         FOR UPDATE SKIP LOCKED
       ), limited AS MATERIALIZED (
         SELECT picked.uid
         FROM unnest($6::text[], $7::int[]) AS r(namespace, room)
         CROSS JOIN LATERAL (
           SELECT uid FROM vigil.checks
           WHERE namespace = r.namespace
             AND NOT paused
             AND next_due_at <= $2
             AND (lease_expires_at IS NULL OR lease_expires_at < now())
           ORDER BY next_due_at
           LIMIT r.room
           FOR UPDATE SKIP LOCKED
         ) AS picked
       ), due AS (
         SELECT uid FROM others UNION ALL SELECT uid FROM limited
       )
       UPDATE vigil.checks c
       SET lease_owner = $1,
           lease_expires_at = greatest(c.next_due_at, now()) + (least(c.timeout_ms, $5::int) + $4::int) * interval '1 millisecond'
       FROM due
       WHERE c.uid = due.uid
       RETURNING c.uid, c.namespace, c.name, c.generation, c.labels, c.url, c.method, c.headers, c.interval_ms, c.timeout_ms,
                 c.expect_status_codes, c.expect_body_contains, c.failure_threshold, c.success_threshold, c.allow_insecure_redirects, c.next_due_at,
                 c.state, c.consecutive_failures, c.consecutive_successes`,
      [params.prober, horizon, params.limit, params.leaseMs, params.maxTimeoutMs, params.rooms.namespaces, params.rooms.rooms],
    );
    return {
      clockOffsetMs,
      horizon: horizon.getTime(),
      checks: rows.map((r) => ({
        dueAt: r.next_due_at.getTime(),
        counters: { state: r.state, consecutiveFailures: r.consecutive_failures, consecutiveSuccesses: r.consecutive_successes },
        spec: {
          uid: r.uid,
          namespace: r.namespace,
          name: r.name,
          generation: Number(r.generation),
          labels: r.labels,
          url: r.url,
          method: r.method,
          headers: r.headers,
          intervalMs: r.interval_ms,
          timeoutMs: r.timeout_ms,
          expectStatusCodes: r.expect_status_codes,
          expectBodyContains: r.expect_body_contains,
          failureThreshold: r.failure_threshold,
          successThreshold: r.success_threshold,
          allowInsecureRedirects: r.allow_insecure_redirects,
        },
      })),
    };
  });
  return claimed!;
}

/** Gives slots back without probing them (shutdown, or a row that changed): the due time stays, so another replica takes them at once. */
export async function releaseLeases(pool: Pool, prober: string, uids: readonly string[] | null): Promise<number> {
  const result = await pool.query(
    `UPDATE vigil.checks SET lease_owner = NULL, lease_expires_at = NULL
     WHERE lease_owner = $1 AND ($2::uuid[] IS NULL OR uid = ANY($2::uuid[]))`,
    [prober, uids],
  );
  return result.rowCount ?? 0;
}

/** The current generation and paused flag of the given checks; a deleted check is absent. */
export async function currentGenerations(pool: Pool, uids: readonly string[]): Promise<Map<string, { generation: number; paused: boolean }>> {
  const { rows } = await pool.query<{ uid: string; generation: number; paused: boolean }>(
    `SELECT uid, generation, paused FROM vigil.checks WHERE uid = ANY($1::uuid[])`,
    [uids],
  );
  return new Map(rows.map((r) => [r.uid, { generation: Number(r.generation), paused: r.paused }]));
}

/**
 * Moves paused checks into state `paused` through vigil.settle_paused_checks
 * (migration 0006): the state, a transition each (no outbox rows: pausing
 * notifies no receiver), counters reset so that resuming starts afresh, leases
 * dropped, NOTIFY vigil_transitions so the alerter shows it. Returns how many moved.
 */
export async function settlePausedChecks(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ moved: number }>(`SELECT vigil.settle_paused_checks() AS moved`);
  return rows[0]!.moved;
}
