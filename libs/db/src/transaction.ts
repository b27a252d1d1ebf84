import type { ClientBase, Pool, PoolClient } from 'pg';
import { isTransient } from './errors.js';

/** Thrown by a transaction body to roll back and make `withTransaction` return `undefined`. */
export class Rollback extends Error {
  constructor() {
    super('transaction rolled back');
  }
}

/**
 * Runs `body` in one transaction on a client of `pool`: COMMIT when it returns,
 * ROLLBACK when it throws. Throwing `Rollback` rolls back and resolves to
 * `undefined`; any other error is rethrown. A client whose connection broke is
 * destroyed rather than returned to the pool.
 */
export async function withTransaction<T>(pool: Pool, body: (client: PoolClient) => Promise<T>): Promise<T | undefined> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await inTransaction(client, body);
  } catch (err) {
    if (isTransient(err)) broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * `withTransaction` on a client the caller already holds: for work that needs
 * one session across several transactions (the migration runner's advisory
 * lock). The caller releases the client.
 */
export async function inTransaction<C extends ClientBase, T>(client: C, body: (client: C) => Promise<T>): Promise<T | undefined> {
  await client.query('BEGIN');
  try {
    const result = await body(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (err instanceof Rollback) return undefined;
    throw err;
  }
}
