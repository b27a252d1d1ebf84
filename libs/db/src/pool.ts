import pg from 'pg';

export type { Pool, PoolClient } from 'pg';

export interface PoolOptions {
  connectionString: string;
  /** Shown in pg_stat_activity, so an operator can tell the services' connections apart. */
  applicationName: string;
  max?: number;
  statementTimeoutMs?: number;
}

// bigint (int8) and numeric come back as strings by default; counts and ids
// here fit comfortably in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    application_name: options.applicationName,
    max: options.max ?? 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    ...(options.statementTimeoutMs ? { statement_timeout: options.statementTimeoutMs } : {}),
  });
  // An idle client that loses its server emits 'error' on the pool; unhandled,
  // that would crash the process. The next query reports the outage instead.
  pool.on('error', () => {});
  return pool;
}
