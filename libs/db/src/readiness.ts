import type pg from 'pg';
import { migrationStatus } from './migrate.js';

/** Whether the database answers and its schema is what this code expects; the text says what is wrong. */
export async function databaseReadiness(pool: pg.Pool): Promise<{ ok: boolean; detail: string }> {
  try {
    const status = await migrationStatus(pool);
    if (status.pending.length > 0) {
      return { ok: false, detail: `schema at migration ${status.databaseVersion}, code expects ${status.codeVersion}: run the migrations` };
    }
    return { ok: true, detail: 'ok' };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}
