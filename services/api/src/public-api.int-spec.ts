import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { startOfUtcDay, startOfUtcHour } from './checks/uptime.js';
import { createTestApp } from './testing/app.js';
import { insertCheck, insertProbeResults, insertRollups, insertTransition } from './testing/seed.js';

// Everything the public must never see: unpublished checks, target URLs,
// headers, and probe messages (which name the target host).
const SECRET_URL = 'https://billing.secret-intranet.example/health?key=hunter2';
const SECRET_MESSAGE = 'dial tcp: lookup billing.secret-intranet.example: no such host';
const HIDDEN_NAME = 'hidden-payroll';
const HEADER_VALUE = 'Bearer sk_live_do_not_show';

let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
let app: INestApplication;
let appShowingUrls: INestApplication;
let appShowingNames: INestApplication;
let apiUid: string;
const now = new Date();
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 4 });
  await migrate(pool);

  // 7 published checks in two groups plus ungrouped ones, one unpublished.
  const api = (apiUid = await insertCheck(pool, { name: 'api', displayName: 'Public API', group: 'Core', state: 'up', url: SECRET_URL, headers: { authorization: HEADER_VALUE } }));
  const web = await insertCheck(pool, { name: 'web', displayName: 'Website', group: 'Core', state: 'down', lastReason: 'Timeout', lastMessage: SECRET_MESSAGE, url: SECRET_URL, stateSince: minutesAgo(30) });
  await insertCheck(pool, { name: 'cdn', displayName: 'CDN', group: 'Edge', state: 'up' });
  await insertCheck(pool, { name: 'dns', displayName: 'DNS', group: 'Edge', state: 'pending' });
  await insertCheck(pool, { namespace: 'team-b', name: 'queue', group: null, state: 'paused' });
  await insertCheck(pool, { namespace: 'team-b', name: 'batch', displayName: '', group: '', state: 'up' });
  const hidden = await insertCheck(pool, { name: HIDDEN_NAME, displayName: 'Payroll', group: 'Core', state: 'down', publish: false, url: SECRET_URL, lastMessage: SECRET_MESSAGE });
  // A check deleted and re-created under the same name: only the newer row is public.
  await insertCheck(pool, { name: 'recreated', displayName: 'Old copy', group: 'Edge', state: 'down', createdAt: minutesAgo(120) });
  await insertCheck(pool, { name: 'recreated', displayName: 'Recreated', group: 'Edge', state: 'up', createdAt: minutesAgo(1) });

  await insertRollups(pool, [
    { uid: api, granularity: 'hour', start: startOfUtcHour(now), probes: 10, successes: 10 },
    { uid: api, granularity: 'day', start: startOfUtcDay(now), probes: 100, successes: 99 },
  ]);
  await insertTransition(pool, { uid: web, name: 'web', url: SECRET_URL, from: 'up', to: 'down', at: minutesAgo(30), reason: 'Timeout', message: SECRET_MESSAGE });
  await insertTransition(pool, { uid: web, name: 'web', url: SECRET_URL, from: 'pending', to: 'up', at: minutesAgo(90) });
  await insertTransition(pool, { uid: api, name: 'api', url: SECRET_URL, from: 'pending', to: 'up', at: minutesAgo(60) });
  await insertTransition(pool, { uid: hidden, name: HIDDEN_NAME, url: SECRET_URL, from: 'up', to: 'down', at: minutesAgo(5), message: SECRET_MESSAGE });
  await insertProbeResults(pool, web, [
    { at: minutesAgo(3), ok: false, code: 0, totalMs: 10_000, reason: 'Timeout', message: SECRET_MESSAGE },
    { at: minutesAgo(2), ok: false, code: 0, totalMs: 10_000, reason: 'Timeout', message: SECRET_MESSAGE },
    { at: minutesAgo(1), ok: false, code: 503, totalMs: 120.4, reason: 'UnexpectedStatus', message: SECRET_MESSAGE },
  ]);

  app = await createTestApp({ databaseUrl: db.url });
  appShowingUrls = await createTestApp({ databaseUrl: db.url, env: { STATUS_PAGE_SHOW_URLS: 'true' } });
  appShowingNames = await createTestApp({ databaseUrl: db.url, env: { STATUS_PAGE_SHOW_NAMES: 'true' } });
});

afterAll(async () => {
  await app?.close();
  await appShowingUrls?.close();
  await appShowingNames?.close();
  await pool?.end();
  await server?.destroy();
});

const get = (path: string) => request(app.getHttpServer()).get(path);

describe('GET /api/v1/checks', () => {
  it('lists the published checks, grouped then by display name, ungrouped last, with cache headers for polling', async () => {
    const res = await get('/api/v1/checks').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=5, stale-while-revalidate=10');
    expect(res.headers['etag']).toBeDefined();
    expect(res.body).toMatchObject({ total: 7, limit: 50, offset: 0 });
    expect(res.body.items.map((c: { displayName: string }) => c.displayName)).toEqual(['Public API', 'Website', 'CDN', 'DNS', 'Recreated', 'batch', 'queue']);
    const api = res.body.items[0];
    // No namespace or object name by default: an opaque id keys the check.
    expect(api).toEqual({
      id: apiUid,
      displayName: 'Public API',
      group: 'Core',
      state: 'up',
      since: expect.any(String),
      code: 200,
      latencyMs: 42,
      lastProbeAt: expect.any(String),
      reason: null,
      uptime: { '24h': 100, '7d': 99, '30d': 99, '90d': 99 },
    });
    // An empty display name or group falls back to the name / no group.
    expect(res.body.items[5]).toMatchObject({ displayName: 'batch', group: null });
    expect(res.body.items[4]).toMatchObject({ displayName: 'Recreated', state: 'up' });
  });

  it('answers 304 to a poll whose ETag still matches', async () => {
    const first = await get('/api/v1/checks').expect(200);
    await get('/api/v1/checks').set('If-None-Match', first.headers['etag']!).expect(304);
  });

  it('paginates with limit and offset, total counting every page', async () => {
    const page1 = await get('/api/v1/checks?limit=3').expect(200);
    const page2 = await get('/api/v1/checks?limit=3&offset=3').expect(200);
    const page3 = await get('/api/v1/checks?limit=3&offset=6').expect(200);
    const beyond = await get('/api/v1/checks?limit=3&offset=30').expect(200);
    expect([page1, page2, page3].map((p) => p.body.items.length)).toEqual([3, 3, 1]);
    expect(beyond.body).toEqual({ items: [], total: 7, limit: 3, offset: 30 });
    const ids = [...page1.body.items, ...page2.body.items, ...page3.body.items].map((c: { id: string }) => c.id);
    expect(new Set(ids).size).toBe(7);
  });

  it('filters by group and by state', async () => {
    const core = await get('/api/v1/checks?group=Core').expect(200);
    expect(core.body.items.map((c: { displayName: string }) => c.displayName)).toEqual(['Public API', 'Website']);
    expect(core.body.total).toBe(2);
    const down = await get('/api/v1/checks?state=down').expect(200);
    expect(down.body.items.map((c: { displayName: string }) => c.displayName)).toEqual(['Website']);
    const edgeUp = await get('/api/v1/checks?group=Edge&state=up').expect(200);
    expect(edgeUp.body.items.map((c: { displayName: string }) => c.displayName)).toEqual(['CDN', 'Recreated']);
  });

  it('adds 90 days and 24 hours of history on request', async () => {
    const res = await get('/api/v1/checks?include=history&limit=1').expect(200);
    const history = res.body.items[0].history;
    expect(history.days).toHaveLength(90);
    expect(history.latency).toHaveLength(24);
    expect(history.days[89]).toEqual({ date: now.toISOString().slice(0, 10), probes: 100, uptime: 99 });
    expect(history.days[0]).toMatchObject({ probes: 0, uptime: null });
    expect(history.latency[23]).toEqual({ hour: expect.any(String), avgMs: 60 });
  });

  it.each([
    ['limit=0', 'limit must not be less than 1'],
    ['limit=501', 'limit must not be greater than 500'],
    ['limit=ten', 'limit must be an integer number'],
    ['limit=1.5', 'limit must be an integer number'],
    ['offset=-1', 'offset must not be less than 0'],
    ['state=sideways', 'state must be one of the following values: up, down, pending, paused'],
    ['include=everything', 'include must be one of the following values: history'],
    ['colour=red', 'property colour should not exist'],
  ])('refuses ?%s with 400 and says why', async (query, message) => {
    const res = await get(`/api/v1/checks?${query}`).expect(400);
    expect(res.body).toEqual({ statusCode: 400, error: 'Bad Request', message: [message] });
  });
});

describe('GET /api/v1/checks/:namespace/:name', () => {
  it('returns the detail with hourly and daily series and the latest results, newest first', async () => {
    const res = await get('/api/v1/checks/default/web?results=2').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=5, stale-while-revalidate=10');
    expect(res.body).toMatchObject({ namespace: 'default', name: 'web', displayName: 'Website', state: 'down', reason: 'Timeout' });
    expect(res.body.hourly).toHaveLength(24);
    expect(res.body.daily).toHaveLength(90);
    expect(res.body.results).toEqual([
      { at: minutesAgo(1).toISOString(), ok: false, code: 503, latencyMs: 120, reason: 'UnexpectedStatus' },
      { at: minutesAgo(2).toISOString(), ok: false, code: 0, latencyMs: 10_000, reason: 'Timeout' },
    ]);
  });

  it('is 404 for an unknown check, and for an unpublished one', async () => {
    const unknown = await get('/api/v1/checks/default/nope').expect(404);
    expect(unknown.body.message).toBe('no published check default/nope');
    await get(`/api/v1/checks/default/${HIDDEN_NAME}`).expect(404);
    await get(`/api/v1/checks/default/${HIDDEN_NAME}/events`).expect(404);
  });

  it('refuses a bad results count with 400', async () => {
    const res = await get('/api/v1/checks/default/web?results=1000').expect(400);
    expect(res.body.message).toEqual(['results must not be greater than 100']);
  });
});

describe('events', () => {
  it("lists a check's transitions newest first, paginated", async () => {
    const res = await get('/api/v1/checks/default/web/events').expect(200);
    expect(res.body.total).toBe(2);
    expect(res.body.items.map((e: { from: string; to: string }) => `${e.from}->${e.to}`)).toEqual(['up->down', 'pending->up']);
    expect(res.body.items[0]).toEqual({
      id: expect.any(Number),
      namespace: 'default',
      name: 'web',
      displayName: 'Website',
      group: 'Core',
      from: 'up',
      to: 'down',
      at: minutesAgo(30).toISOString(),
      code: 0,
      latencyMs: null,
      reason: 'Timeout',
    });
    const second = await get('/api/v1/checks/default/web/events?limit=1&offset=1').expect(200);
    expect(second.body.items.map((e: { to: string }) => e.to)).toEqual(['up']);
  });

  it('lists the latest transitions of published checks only', async () => {
    const res = await get('/api/v1/events?limit=10').expect(200);
    expect(res.body.items.map((e: { displayName: string; to: string }) => `${e.displayName}:${e.to}`)).toEqual(['Website:down', 'Public API:up', 'Website:up']);
    expect(res.body.items[0]).not.toHaveProperty('namespace');
    expect(res.body.items[0]).not.toHaveProperty('name');
    await get('/api/v1/events?limit=101').expect(400);
  });
});

describe('GET /api/v1/summary', () => {
  it('counts the published checks per state and names the overall state', async () => {
    const res = await get('/api/v1/summary').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=5, stale-while-revalidate=10');
    expect(res.body).toEqual({
      state: 'partial_outage',
      counts: { up: 4, down: 1, pending: 1, paused: 1, total: 7 },
      generatedAt: expect.any(String),
    });
  });
});

describe('what the public never sees', () => {
  const publicPaths = [
    '/api/v1/checks?limit=500&include=history',
    '/api/v1/checks?state=down',
    '/api/v1/checks/default/web?results=100',
    '/api/v1/checks/default/api',
    '/api/v1/checks/default/web/events',
    '/api/v1/events?limit=100',
    '/api/v1/summary',
  ];

  it('no unpublished check, target URL, header or probe message appears in any public response', async () => {
    for (const path of publicPaths) {
      const res = await get(path).expect(200);
      for (const secret of [SECRET_URL, 'secret-intranet', SECRET_MESSAGE, HIDDEN_NAME, 'Payroll', HEADER_VALUE, 'Old copy']) {
        expect({ path, leaked: res.text.includes(secret) ? secret : null }).toEqual({ path, leaked: null });
      }
    }
  });

  it('shows URLs and messages only when the operator opts in with STATUS_PAGE_SHOW_URLS=true, and still never headers or unpublished checks', async () => {
    const list = await request(appShowingUrls.getHttpServer()).get('/api/v1/checks?group=Core').expect(200);
    // The target, redacted: a query value may be a credential.
    const shown = 'https://billing.secret-intranet.example/health?key=REDACTED';
    expect(list.body.items[0]).toMatchObject({ displayName: 'Public API', url: shown, message: null });
    expect(list.body.items[1]).toMatchObject({ displayName: 'Website', url: shown, message: SECRET_MESSAGE });
    expect(list.text).not.toContain('hunter2');
    const detail = await request(appShowingUrls.getHttpServer()).get('/api/v1/checks/default/web').expect(200);
    expect(detail.body).toMatchObject({ url: shown });
    expect(list.text).not.toContain(HEADER_VALUE);
    expect(list.text).not.toContain(HIDDEN_NAME);
    const events = await request(appShowingUrls.getHttpServer()).get('/api/v1/events').expect(200);
    expect(events.body.items[0]).toMatchObject({ displayName: 'Website', message: SECRET_MESSAGE });
    expect(events.text).not.toContain(HIDDEN_NAME);
  });

  it("names checks' namespaces and objects in lists and events only when the operator opts in with STATUS_PAGE_SHOW_NAMES=true", async () => {
    const hidden = await get('/api/v1/checks?limit=500').expect(200);
    expect(hidden.text).not.toContain('team-b');
    expect(hidden.body.items.every((c: object) => !('namespace' in c) && !('name' in c))).toBe(true);
    expect((await get('/api/v1/events?limit=100').expect(200)).text).not.toContain('"namespace"');
    const list = await request(appShowingNames.getHttpServer()).get('/api/v1/checks').expect(200);
    expect(list.body.items.map((c: { namespace: string; name: string }) => `${c.namespace}/${c.name}`)).toEqual([
      'default/api',
      'default/web',
      'default/cdn',
      'default/dns',
      'default/recreated',
      'team-b/batch',
      'team-b/queue',
    ]);
    const events = await request(appShowingNames.getHttpServer()).get('/api/v1/events').expect(200);
    expect(events.body.items[0]).toMatchObject({ namespace: 'default', name: 'web', displayName: 'Website' });
  });
});

describe('unknown routes and the OpenAPI document', () => {
  it('is 404 for an unknown route', async () => {
    await get('/api/v1/nothing-here').expect(404);
  });

  it('serves the OpenAPI document describing every public endpoint', async () => {
    const res = await get('/api/docs/openapi.json').expect(200);
    expect(Object.keys(res.body.paths).sort()).toEqual([
      '/api/v1/checks',
      '/api/v1/checks/{namespace}/{name}',
      '/api/v1/checks/{namespace}/{name}/events',
      '/api/v1/deliveries',
      '/api/v1/deliveries/{id}',
      '/api/v1/events',
      '/api/v1/summary',
    ]);
    const listParams = res.body.paths['/api/v1/checks'].get.parameters.map((p: { name: string }) => p.name).sort();
    expect(listParams).toEqual(['group', 'include', 'limit', 'offset', 'state']);
    const ui = await get('/api/docs').expect(200);
    expect(ui.text).toContain('swagger-ui');
  });
});
