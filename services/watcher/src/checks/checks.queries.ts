import type { PoolClient } from '@vigil/db';
import type { CheckRow } from './check-row.js';

// Spec columns whose change must make probers re-probe at once.
const SPEC = `generation, url, method, headers, interval_ms, timeout_ms, expect_status_codes, expect_body_contains,
  failure_threshold, success_threshold, paused`;
const excluded = (columns: string) =>
  columns
    .split(',')
    .map((c) => `EXCLUDED.${c.trim()}`)
    .join(', ');
const current = (columns: string) =>
  columns
    .split(',')
    .map((c) => `c.${c.trim()}`)
    .join(', ');
const WATCHER_OWNED = `namespace, name, labels, publish, display_name, group_name, ${SPEC}`;

/**
 * Inserts new rows (state seeded from the object's status) and updates the
 * watcher-owned columns of existing rows only when they differ, so a
 * status-only update or a relist of unchanged objects writes nothing. A spec
 * or generation change also makes the row due now; probers own every other
 * column. The rows must have distinct uids.
 */
export async function upsertChecks(client: PoolClient, rows: readonly CheckRow[]): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const { rows: result } = await client.query<{ inserted: boolean }>(
    `INSERT INTO vigil.checks AS c (uid, namespace, name, generation, labels, url, method, headers, interval_ms, timeout_ms,
       expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused, publish, display_name, group_name,
       state, state_since)
     SELECT r.uid, r.namespace, r.name, r.generation, r.labels, r.url, r.method, r.headers, r.interval_ms, r.timeout_ms,
       r.expect_status_codes, r.expect_body_contains, r.failure_threshold, r.success_threshold, r.paused, r.publish, r.display_name, r.group_name,
       coalesce(r.seed_state, 'pending'), coalesce(r.seed_state_since, now())
     FROM jsonb_to_recordset($1::jsonb) AS r(uid uuid, namespace text, name text, generation bigint, labels jsonb, url text, method text,
       headers jsonb, interval_ms integer, timeout_ms integer, expect_status_codes text[], expect_body_contains text,
       failure_threshold smallint, success_threshold smallint, paused boolean, publish boolean, display_name text, group_name text,
       seed_state text, seed_state_since timestamptz)
     ON CONFLICT (uid) DO UPDATE SET
       (${WATCHER_OWNED}) = (${excluded(WATCHER_OWNED)}),
       next_due_at = CASE WHEN (${current(SPEC)}) IS DISTINCT FROM (${excluded(SPEC)}) THEN now() ELSE c.next_due_at END,
       updated_at = now()
     WHERE (${current(WATCHER_OWNED)}) IS DISTINCT FROM (${excluded(WATCHER_OWNED)})
     RETURNING (xmax = 0) AS inserted`,
    [JSON.stringify(rows)],
  );
  const inserted = result.filter((r) => r.inserted).length;
  return { inserted, updated: result.length - inserted };
}

export async function deleteChecks(client: PoolClient, uids: readonly string[]): Promise<number> {
  if (uids.length === 0) return 0;
  const result = await client.query(`DELETE FROM vigil.checks WHERE uid = ANY($1::uuid[])`, [uids]);
  return result.rowCount ?? 0;
}

/** After a full list: deletes the rows of `namespaces` (null: every namespace) whose uid was not listed. */
export async function deleteUnlistedChecks(client: PoolClient, namespaces: readonly string[] | null, keepUids: readonly string[]): Promise<number> {
  const result = await client.query(
    `DELETE FROM vigil.checks WHERE ($1::text[] IS NULL OR namespace = ANY($1::text[])) AND NOT (uid = ANY($2::uuid[]))`,
    [namespaces, keepUids],
  );
  return result.rowCount ?? 0;
}

export async function countChecks(client: PoolClient, namespaces: readonly string[] | null): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM vigil.checks WHERE $1::text[] IS NULL OR namespace = ANY($1::text[])`,
    [namespaces],
  );
  return rows[0]!.n;
}

/** Wakes probers; sent once per write transaction that changed something, delivered at commit. */
export async function notifyChecksChanged(client: PoolClient): Promise<void> {
  await client.query(`NOTIFY vigil_checks`);
}
