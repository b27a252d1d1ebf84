import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { createPool, type Pool } from './pool.js';
import { MigrationError, loadMigrations, migrate, migrationStatus } from './migrate.js';
import { databaseReadiness } from './readiness.js';

let server: PostgresServer;
const databases: TestDatabase[] = [];
const pools: Pool[] = [];

async function freshPool(): Promise<Pool> {
  const db = await server.createDatabase();
  databases.push(db);
  const pool = createPool({ connectionString: db.url, applicationName: 'migrate-test', max: 4 });
  pools.push(pool);
  return pool;
}

beforeAll(async () => {
  server = await PostgresServer.start();
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await server?.destroy();
});

describe('migrations', () => {
  it('apply to an empty database and create every contract table in schema vigil', async () => {
    const pool = await freshPool();
    const known = await loadMigrations();
    expect(await databaseReadiness(pool)).toEqual({ ok: false, detail: `schema at migration 0, code expects ${known.length}: run the migrations` });

    expect(await migrate(pool)).toEqual(known.map((m) => m.id));

    const { rows } = await pool.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'vigil' AND table_name NOT LIKE 'probe_results_%' ORDER BY table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual([
      'check_status_reports',
      'checks',
      'probe_results',
      'schema_migrations',
      'transitions',
      'uptime_rollups',
      'webhook_attempts',
      'webhook_deliveries',
      'webhook_receivers',
    ]);
    const partitions = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'vigil.probe_results'::regclass`,
    );
    expect(partitions.rows[0]!.n).toBeGreaterThanOrEqual(7);
    // A result stamped now lands in today's partition.
    await pool.query(`INSERT INTO vigil.probe_results (check_uid, started_at, ok) VALUES (gen_random_uuid(), now(), true)`);
    expect(await databaseReadiness(pool)).toEqual({ ok: true, detail: 'ok' });
  });

  it('are idempotent: a second run applies nothing and changes nothing', async () => {
    const pool = await freshPool();
    await migrate(pool);
    const before = await pool.query(`SELECT id, checksum, applied_at FROM vigil.schema_migrations ORDER BY id`);
    expect(await migrate(pool)).toEqual([]);
    const after = await pool.query(`SELECT id, checksum, applied_at FROM vigil.schema_migrations ORDER BY id`);
    expect(after.rows).toEqual(before.rows);
  });

  it('apply each migration exactly once when two runners race', async () => {
    const db = await server.createDatabase();
    databases.push(db);
    const a = createPool({ connectionString: db.url, applicationName: 'runner-a', max: 1 });
    const b = createPool({ connectionString: db.url, applicationName: 'runner-b', max: 1 });
    pools.push(a, b);
    const [appliedByA, appliedByB] = await Promise.all([migrate(a), migrate(b)]);
    const known = await loadMigrations();
    // One runner did all the work; the other, queued on the advisory lock, found nothing left.
    expect([...appliedByA, ...appliedByB].sort()).toEqual(known.map((m) => m.id));
    expect([appliedByA.length, appliedByB.length].sort()).toEqual([0, known.length]);
    const { rows } = await a.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.schema_migrations`);
    expect(rows[0]!.n).toBe(known.length);
  });

  it('refuse a database migrated by newer code, and say so', async () => {
    const pool = await freshPool();
    const known = await loadMigrations();
    await migrate(pool);
    await pool.query(`INSERT INTO vigil.schema_migrations (id, name, checksum) VALUES ($1, 'from_the_future', 'x')`, [known.length + 1]);

    await expect(migrate(pool)).rejects.toThrow(MigrationError);
    await expect(migrate(pool)).rejects.toThrow(`the database schema is at migration ${known.length + 1} but this code knows only up to ${known.length}`);
    await expect(migrationStatus(pool)).rejects.toThrow(/migrated by a newer Vigil/);
    expect((await databaseReadiness(pool)).ok).toBe(false);
  });

  it('refuse a migration that was edited after it was applied', async () => {
    const pool = await freshPool();
    await migrate(pool);
    const edited = (await loadMigrations()).map((m, i) => (i === 0 ? { ...m, checksum: 'edited' } : m));
    await expect(migrate(pool, edited)).rejects.toThrow(/migration 1 \(initial\) was changed after it was applied/);
  });

  it('roll back a failing migration completely and record nothing', async () => {
    const pool = await freshPool();
    const dir = await mkdtemp(join(tmpdir(), 'vigil-migrations-'));
    await writeFile(join(dir, '0001_good.sql'), 'CREATE TABLE vigil.kept (id int);');
    await writeFile(join(dir, '0002_bad.sql'), 'CREATE TABLE vigil.half_done (id int); SELECT no_such_function();');
    const migrations = await loadMigrations(pathToFileURL(`${dir}/`));

    await expect(migrate(pool, migrations)).rejects.toThrow(/migration 2 \(bad\) failed: function no_such_function\(\) does not exist/);
    const { rows } = await pool.query<{ id: number }>(`SELECT id FROM vigil.schema_migrations ORDER BY id`);
    expect(rows).toEqual([{ id: 1 }]);
    const halfDone = await pool.query<{ present: boolean }>(`SELECT to_regclass('vigil.half_done') IS NOT NULL AS present`);
    expect(halfDone.rows[0]!.present).toBe(false);
  });
});
