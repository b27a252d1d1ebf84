import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { createTestApp } from './testing/app.js';
import { insertCheck, insertTransition } from './testing/seed.js';

// The operator's publish scope (STATUS_PAGE_NAMESPACES, STATUS_PAGE_GROUPS):
// a tenant outside it may set `publish: true` on its checks, and the public
// still sees nothing of them on any public route.
const OUTSIDER = 'sandbox-phish';

let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
let everyone: INestApplication;
let teamAOnly: INestApplication;
let teamAWebsites: INestApplication;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 4 });
  await migrate(pool);
  const web = await insertCheck(pool, { namespace: 'team-a', name: 'web', displayName: 'Website', group: 'Websites', state: 'up' });
  await insertCheck(pool, { namespace: 'team-a', name: 'api', displayName: 'API', group: 'APIs', state: 'down' });
  const phish = await insertCheck(pool, { namespace: 'team-b', name: OUTSIDER, displayName: 'Payments (official)', group: 'Websites', state: 'down' });
  await insertTransition(pool, { uid: web, namespace: 'team-a', name: 'web', from: 'pending', to: 'up', at: new Date(Date.now() - 60_000) });
  await insertTransition(pool, { uid: phish, namespace: 'team-b', name: OUTSIDER, from: 'up', to: 'down', at: new Date() });
  // Names shown, so the assertions can say which check is which, and an outsider's name would show if it leaked.
  const names = { STATUS_PAGE_SHOW_NAMES: 'true' };
  everyone = await createTestApp({ databaseUrl: db.url, env: names });
  teamAOnly = await createTestApp({ databaseUrl: db.url, env: { ...names, STATUS_PAGE_NAMESPACES: 'team-a' } });
  teamAWebsites = await createTestApp({ databaseUrl: db.url, env: { ...names, STATUS_PAGE_NAMESPACES: 'team-a,team-c', STATUS_PAGE_GROUPS: 'Websites' } });
});

afterAll(async () => {
  await everyone?.close();
  await teamAOnly?.close();
  await teamAWebsites?.close();
  await pool?.end();
  await server?.destroy();
});

const names = (body: { items: Array<{ namespace: string; name: string }> }) => body.items.map((c) => `${c.namespace}/${c.name}`);

describe('the publish scope', () => {
  it('by default publishes every namespace, as on a single-team cluster', async () => {
    const checks = await request(everyone.getHttpServer()).get('/api/v1/checks').expect(200);
    expect(names(checks.body).sort()).toEqual(['team-a/api', 'team-a/web', `team-b/${OUTSIDER}`]);
    await request(everyone.getHttpServer()).get(`/api/v1/checks/team-b/${OUTSIDER}`).expect(200);
  });

  it('hides a namespace outside STATUS_PAGE_NAMESPACES from every public route, and shows the allowed one', async () => {
    const http = teamAOnly.getHttpServer();
    const checks = await request(http).get('/api/v1/checks').expect(200);
    expect(names(checks.body)).toEqual(['team-a/api', 'team-a/web']);
    expect(checks.body.total).toBe(2);
    expect((await request(http).get('/api/v1/checks?group=Websites').expect(200)).body.items).toHaveLength(1);
    await request(http).get('/api/v1/checks/team-a/web').expect(200);
    const detail = await request(http).get(`/api/v1/checks/team-b/${OUTSIDER}`).expect(404);
    expect(detail.body.message).toBe(`no published check team-b/${OUTSIDER}`);
    await request(http).get(`/api/v1/checks/team-b/${OUTSIDER}/events`).expect(404);
    const events = await request(http).get('/api/v1/events').expect(200);
    expect(events.body.items.map((e: { name: string }) => e.name)).toEqual(['web']);
    const summary = await request(http).get('/api/v1/summary').expect(200);
    // team-a's api is down, team-b's check (down too) does not count.
    expect(summary.body).toMatchObject({ state: 'partial_outage', counts: { up: 1, down: 1, pending: 0, paused: 0, total: 2 } });
    // Nothing of the outsider anywhere public, including the page itself.
    for (const path of ['/', '/api/v1/checks?include=history', '/api/v1/events', '/api/v1/summary', '/api/v1/checks?group=Websites']) {
      const res = await request(http).get(path).expect(200);
      expect(res.text).not.toContain(OUTSIDER);
      expect(res.text).not.toContain('Payments (official)');
    }
  });

  it('limits groups with STATUS_PAGE_GROUPS on top of the namespaces', async () => {
    const http = teamAWebsites.getHttpServer();
    expect(names((await request(http).get('/api/v1/checks').expect(200)).body)).toEqual(['team-a/web']);
    await request(http).get('/api/v1/checks/team-a/api').expect(404);
    expect((await request(http).get('/api/v1/summary').expect(200)).body).toMatchObject({ state: 'operational', counts: { up: 1, down: 0, total: 1 } });
  });
});
