import type { PoolClient } from '@vigil/db';
import type { CheckRow } from './check-row.js';

// The watcher's writes are vigil.upsert_checks, vigil.retire_checks and
// vigil.retire_unlisted_checks (migration 0006): the same functions other
// services' tests seed checks through. Each sends NOTIFY vigil_checks when it
// changed a row; Postgres delivers one notification per transaction.

/**
 * Inserts new rows (state seeded from the object's status) and updates the
 * watcher-owned columns of existing rows only when they differ, so a
 * status-only update or a relist of unchanged objects writes nothing. A spec
 * or generation change also makes the row due now. The rows must have distinct uids.
 */
export async function upsertChecks(client: PoolClient, rows: readonly CheckRow[]): Promise<{ inserted: number; updated: number }> {
  if (rows.length === 0) return { inserted: 0, updated: 0 };
  const { rows: result } = await client.query<{ inserted: number; updated: number }>(`SELECT inserted, updated FROM vigil.upsert_checks($1::jsonb)`, [
    JSON.stringify(rows),
  ]);
  return result[0]!;
}

export async function deleteChecks(client: PoolClient, uids: readonly string[]): Promise<number> {
  if (uids.length === 0) return 0;
  const { rows } = await client.query<{ n: number }>(`SELECT vigil.retire_checks($1::uuid[]) AS n`, [uids]);
  return rows[0]!.n;
}

/** After a full list: deletes the rows of `namespaces` (null: every namespace) whose uid was not listed. */
export async function deleteUnlistedChecks(client: PoolClient, namespaces: readonly string[] | null, keepUids: readonly string[]): Promise<number> {
  const { rows } = await client.query<{ n: number }>(`SELECT vigil.retire_unlisted_checks($1::text[], $2::uuid[]) AS n`, [namespaces, keepUids]);
  return rows[0]!.n;
}

export async function countChecks(client: PoolClient, namespaces: readonly string[] | null): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM vigil.checks WHERE $1::text[] IS NULL OR namespace = ANY($1::text[])`,
    [namespaces],
  );
  return rows[0]!.n;
}
