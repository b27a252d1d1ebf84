import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { createTestApp } from './testing/app.js';
import { insertCheck, insertChecks, retireCheck } from './testing/seed.js';

// The public sees only the newest row of a re-created check. Which row that
// is, is kept in checks.superseded by the triggers of migration 0005; these
// cases change the rows the ways the watcher can and read the public views
// (response cache off, so every request reads the table).
let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
let app: INestApplication;
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
let alphaNew: string;

const publicNames = async () => {
  const res = await request(app.getHttpServer()).get('/api/v1/checks').expect(200);
  return { total: res.body.total as number, items: (res.body.items as Array<{ namespace: string; name: string; displayName: string }>).map((c) => `${c.namespace}/${c.name}:${c.displayName}`) };
};
const summaryCounts = async () => (await request(app.getHttpServer()).get('/api/v1/summary').expect(200)).body.counts;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 2 });
  await migrate(pool);
  // Names shown: which row is public is told by namespace/name and display name.
  app = await createTestApp({ databaseUrl: db.url, env: { PUBLIC_CACHE_TTL: '0ms', STATUS_PAGE_SHOW_NAMES: 'true' } });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await server?.destroy();
});

describe('re-created checks', () => {
  it('shows only the newest row, whatever order the rows were written in', async () => {
    alphaNew = await insertCheck(pool, { name: 'alpha', displayName: 'Alpha new', state: 'up', createdAt: hoursAgo(1) });
    await insertCheck(pool, { name: 'alpha', displayName: 'Alpha old', state: 'down', createdAt: hoursAgo(5) });
    await insertCheck(pool, { name: 'beta', displayName: 'Beta', state: 'up' });
    expect(await publicNames()).toEqual({ total: 2, items: ['default/alpha:Alpha new', 'default/beta:Beta'] });
    expect(await summaryCounts()).toMatchObject({ up: 2, down: 0 });
  });

  it('shows the older row again when the newest is deleted, and a row inserted in one statement with its twin', async () => {
    await retireCheck(pool, alphaNew);
    expect(await publicNames()).toEqual({ total: 2, items: ['default/alpha:Alpha old', 'default/beta:Beta'] });
    expect(await summaryCounts()).toMatchObject({ up: 1, down: 1 });

    await insertChecks(pool, [
      { name: 'gamma', displayName: 'Gamma old', state: 'up', createdAt: hoursAgo(2) },
      { name: 'gamma', displayName: 'Gamma new', state: 'up' },
    ]);
    expect((await publicNames()).items).toEqual(['default/alpha:Alpha old', 'default/beta:Beta', 'default/gamma:Gamma new']);
  });

  it('follows a row whose name changes', async () => {
    await pool.query(`UPDATE vigil.checks SET name = 'beta' WHERE name = 'gamma' AND display_name = 'Gamma new'`);
    // Now beta has two rows (the renamed one is newer) and gamma only its old one.
    expect(await publicNames()).toEqual({ total: 3, items: ['default/alpha:Alpha old', 'default/beta:Gamma new', 'default/gamma:Gamma old'] });
  });
});
