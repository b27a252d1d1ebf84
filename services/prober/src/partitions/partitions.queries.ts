import { Rollback, withTransaction, type Pool } from '@vigil/db';

// Any fixed key distinct from the migration runner's; 'vigilprt' in ASCII.
const MAINTENANCE_LOCK_KEY = 0x7669676c707274n;

/**
 * Creates the daily partitions from yesterday to `daysAhead` days ahead and
 * drops those whose whole day is older than `retentionMs`. One replica at a
 * time (transaction advisory lock; the others skip), and never waiting long on
 * the table lock a DROP needs, so inserts are not held up behind it.
 */
export async function maintainPartitions(pool: Pool, params: { daysAhead: number; retentionMs: number }): Promise<{ ran: boolean; dropped: string[] }> {
  const dropped = await withTransaction(pool, async (client) => {
    const { rows: lock } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [MAINTENANCE_LOCK_KEY.toString()]);
    if (!lock[0]!.locked) throw new Rollback();
    await client.query(`SET LOCAL lock_timeout = '2s'`);
    await client.query(`SELECT vigil.ensure_probe_result_partitions((now() AT TIME ZONE 'UTC')::date - 1, $1::int + 2)`, [params.daysAhead]);
    const { rows } = await client.query<{ name: string }>(
      `SELECT vigil.drop_probe_result_partitions(now() - $1::bigint * interval '1 millisecond') AS name`,
      [params.retentionMs],
    );
    return rows.map((r) => r.name);
  });
  return dropped === undefined ? { ran: false, dropped: [] } : { ran: true, dropped };
}
