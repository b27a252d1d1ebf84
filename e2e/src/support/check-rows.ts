import pg from 'pg';

/** Runs one query against the stack's database (a short-lived connection) and returns its rows. */
export async function queryRows<T extends pg.QueryResultRow>(databaseUrl: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

/** The watcher's rows in vigil.checks for a namespace (optionally one name). */
export function checkRows(databaseUrl: string, namespace: string, name?: string): Promise<Array<{ uid: string; name: string }>> {
  return queryRows(
    databaseUrl,
    'SELECT uid::text AS uid, name FROM vigil.checks WHERE namespace = $1 AND ($2::text IS NULL OR name = $2) ORDER BY name',
    [namespace, name ?? null],
  );
}
