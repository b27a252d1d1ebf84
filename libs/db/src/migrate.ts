import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import type pg from 'pg';
import { inTransaction } from './transaction.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrationStatus {
  /** Highest migration id the code knows. */
  codeVersion: number;
  /** Highest migration id applied to the database (0 when none). */
  databaseVersion: number;
  pending: Migration[];
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

export const MIGRATIONS_DIR = new URL('../migrations/', import.meta.url);
// Any fixed 64-bit number works; this one is 'vigil' in ASCII. Every runner
// takes it before reading the migrations table, so concurrent runners queue.
const ADVISORY_LOCK_KEY = 0x766967696cn;

/** Reads `NNNN_name.sql` files in id order. */
export async function loadMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
  const migrations: Migration[] = [];
  for (const file of files) {
    const match = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
    if (!match) throw new MigrationError(`migration file ${file} is not named NNNN_name.sql`);
    const id = Number(match[1]);
    const expected = migrations.length + 1;
    if (id !== expected) throw new MigrationError(`migration ${file} has id ${id}; expected ${expected} (ids are consecutive from 1)`);
    const sql = await readFile(new URL(file, dir), 'utf8');
    migrations.push({ id, name: match[2]!, sql, checksum: createHash('sha256').update(sql).digest('hex') });
  }
  return migrations;
}

interface AppliedRow {
  id: number;
  name: string;
  checksum: string;
}

async function appliedMigrations(client: pg.ClientBase): Promise<AppliedRow[] | null> {
  const exists = await client.query<{ present: boolean }>(`SELECT to_regclass('vigil.schema_migrations') IS NOT NULL AS present`);
  if (!exists.rows[0]?.present) return null;
  const { rows } = await client.query<AppliedRow>(`SELECT id, name, checksum FROM vigil.schema_migrations ORDER BY id`);
  return rows;
}

function compare(known: Migration[], applied: AppliedRow[]): MigrationStatus {
  const codeVersion = known.length === 0 ? 0 : known[known.length - 1]!.id;
  const databaseVersion = applied.length === 0 ? 0 : applied[applied.length - 1]!.id;
  if (databaseVersion > codeVersion) {
    throw new MigrationError(
      `the database schema is at migration ${databaseVersion} but this code knows only up to ${codeVersion}: ` +
        'it was migrated by a newer Vigil; run the newer version (migrations are forward-only)',
    );
  }
  for (const row of applied) {
    const migration = known[row.id - 1];
    if (!migration || migration.checksum !== row.checksum) {
      throw new MigrationError(`migration ${row.id} (${row.name}) was changed after it was applied; migrations are immutable, add a new one instead`);
    }
  }
  return { codeVersion, databaseVersion, pending: known.slice(databaseVersion) };
}

/** Compares the database with the code without changing anything; throws when the database is newer or was tampered with. */
export async function migrationStatus(pool: pg.Pool, migrations?: Migration[]): Promise<MigrationStatus> {
  const known = migrations ?? (await loadMigrations());
  const client = await pool.connect();
  try {
    return compare(known, (await appliedMigrations(client)) ?? []);
  } finally {
    client.release();
  }
}

/**
 * Applies pending migrations, each in its own transaction, under a session
 * advisory lock so that concurrent runners apply each migration exactly once.
 * Lock and transactions share one client: the lock belongs to its session,
 * and the CLI's pool has a single connection.
 * Running it again changes nothing. Returns the ids it applied.
 */
export async function migrate(pool: pg.Pool, migrations?: Migration[]): Promise<number[]> {
  const known = migrations ?? (await loadMigrations());
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCK_KEY.toString()]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS vigil`);
      await client.query(`
        CREATE TABLE IF NOT EXISTS vigil.schema_migrations (
          id         integer PRIMARY KEY,
          name       text        NOT NULL,
          checksum   text        NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`);
      const { pending } = compare(known, (await appliedMigrations(client)) ?? []);
      const applied: number[] = [];
      for (const migration of pending) {
        try {
          await inTransaction(client, async (tx) => {
            await tx.query(migration.sql);
            await tx.query(`INSERT INTO vigil.schema_migrations (id, name, checksum) VALUES ($1, $2, $3)`, [migration.id, migration.name, migration.checksum]);
          });
        } catch (err) {
          throw new MigrationError(`migration ${migration.id} (${migration.name}) failed: ${(err as Error).message}`);
        }
        applied.push(migration.id);
      }
      return applied;
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCK_KEY.toString()]);
    }
  } finally {
    client.release();
  }
}
