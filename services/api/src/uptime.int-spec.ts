import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, type TestDatabase } from '@vigil/testing';
import { createTestApp } from './testing/app.js';
import { insertCheck, insertRollups } from './testing/seed.js';

// A hand-computed fixture on a fixed clock: 02:30 UTC, so the 24h window
// (hour rollups from 03:00 yesterday) and the day windows cross midnight.
//   24h window: 2026-03-09T03:00Z .. now      7d: from 2026-03-04
//   30d: from 2026-02-09                       90d: from 2025-12-11
const NOW = new Date('2026-03-10T02:30:00Z');

let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
let app: INestApplication;
let clock = NOW;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 4 });
  await migrate(pool);

  const steady = await insertCheck(pool, { name: 'steady', createdAt: new Date('2025-01-01T00:00:00Z') });
  await insertRollups(pool, [
    { uid: steady, granularity: 'hour', start: '2026-03-09T02:00:00Z', probes: 60, successes: 0 }, // one hour too old for 24h
    { uid: steady, granularity: 'hour', start: '2026-03-09T03:00:00Z', probes: 120, successes: 120 },
    { uid: steady, granularity: 'hour', start: '2026-03-09T23:00:00Z', probes: 120, successes: 60 },
    // 60 in (50,75] ms and 60 in (200,300] ms, slowest 280 ms.
    { uid: steady, granularity: 'hour', start: '2026-03-10T00:00:00Z', probes: 120, successes: 120, buckets: { 5: 60, 9: 60 }, latencySumMs: 60 * 60 + 60 * 250, latencyMaxMs: 280 },
    { uid: steady, granularity: 'hour', start: '2026-03-10T02:00:00Z', probes: 60, successes: 30 }, // the current hour, so far
    { uid: steady, granularity: 'day', start: '2026-03-10', probes: 240, successes: 180 },
    { uid: steady, granularity: 'day', start: '2026-03-09', probes: 2880, successes: 2820 },
    { uid: steady, granularity: 'day', start: '2026-03-04', probes: 2880, successes: 2880 }, // first day of 7d
    { uid: steady, granularity: 'day', start: '2026-03-03', probes: 2880, successes: 0 }, // outside 7d, inside 30d
    { uid: steady, granularity: 'day', start: '2026-02-09', probes: 1000, successes: 900 }, // first day of 30d
    { uid: steady, granularity: 'day', start: '2026-02-08', probes: 1000, successes: 1000 }, // outside 30d, inside 90d
    { uid: steady, granularity: 'day', start: '2025-12-11', probes: 100, successes: 50 }, // first day of 90d
    { uid: steady, granularity: 'day', start: '2025-12-10', probes: 100_000, successes: 0 }, // outside every window
  ]);

  // Created mid-window (2026-03-08 12:00): only the time it existed counts.
  const young = await insertCheck(pool, { name: 'young', createdAt: new Date('2026-03-08T12:00:00Z') });
  await insertRollups(pool, [
    { uid: young, granularity: 'hour', start: '2026-03-09T12:00:00Z', probes: 120, successes: 120 },
    { uid: young, granularity: 'hour', start: '2026-03-10T01:00:00Z', probes: 120, successes: 60 },
    { uid: young, granularity: 'day', start: '2026-03-08', probes: 1440, successes: 1440 },
    { uid: young, granularity: 'day', start: '2026-03-09', probes: 2880, successes: 2880 },
    { uid: young, granularity: 'day', start: '2026-03-10', probes: 300, successes: 270 },
  ]);

  await insertCheck(pool, { name: 'brand-new', createdAt: new Date('2026-03-10T02:29:00Z'), state: 'pending' });

  app = await createTestApp({ databaseUrl: db.url, now: () => clock });
});

afterAll(async () => {
  await app?.close();
  await pool?.end();
  await server?.destroy();
});

const get = (path: string) => request(app.getHttpServer()).get(path);

describe('uptime windows from rollups', () => {
  it('match the hand-computed figures, across day boundaries', async () => {
    const res = await get('/api/v1/checks/default/steady').expect(200);
    expect(res.body.uptime).toEqual({
      '24h': 78.571, // (120 + 60 + 120 + 30) / (120 + 120 + 120 + 60) = 330 / 420
      '7d': 98, // (180 + 2820 + 2880) / (240 + 2880 + 2880) = 5880 / 6000
      '30d': 68.623, // (5880 + 0 + 900) / (6000 + 2880 + 1000) = 6780 / 9880
      '90d': 71.311, // (6780 + 1000 + 50) / (9880 + 1000 + 100) = 7830 / 10980
    });
  });

  it('count only the time a check created mid-window existed', async () => {
    const res = await get('/api/v1/checks/default/young').expect(200);
    expect(res.body.uptime).toEqual({
      '24h': 75, // 180 / 240
      '7d': 99.35, // 4590 / 4620: the days before it existed are not downtime
      '30d': 99.35,
      '90d': 99.35,
    });
    const days = res.body.daily as Array<{ start: string; probes: number; uptime: number | null }>;
    expect(days.slice(-4)).toEqual([
      expect.objectContaining({ start: '2026-03-07T00:00:00.000Z', probes: 0, uptime: null }),
      expect.objectContaining({ start: '2026-03-08T00:00:00.000Z', probes: 1440, uptime: 100 }),
      expect.objectContaining({ start: '2026-03-09T00:00:00.000Z', probes: 2880, uptime: 100 }),
      expect.objectContaining({ start: '2026-03-10T00:00:00.000Z', probes: 300, uptime: 90 }),
    ]);
  });

  it('are null, not 0 or 100, for a check with no probes yet', async () => {
    const res = await get('/api/v1/checks/default/brand-new').expect(200);
    expect(res.body.uptime).toEqual({ '24h': null, '7d': null, '30d': null, '90d': null });
  });

  it('agree between the list and the detail, and the list history has the same 90 days', async () => {
    const list = await get('/api/v1/checks?include=history').expect(200);
    const steady = list.body.items.find((c: { displayName: string }) => c.displayName === 'steady');
    expect(steady.uptime).toEqual({ '24h': 78.571, '7d': 98, '30d': 68.623, '90d': 71.311 });
    const days = steady.history.days as Array<{ date: string; probes: number; uptime: number | null }>;
    expect(days[0]).toEqual({ date: '2025-12-11', probes: 100, uptime: 50 });
    expect(days[89]).toEqual({ date: '2026-03-10', probes: 240, uptime: 75 });
    expect(days.filter((d) => d.probes > 0).map((d) => d.date)).toEqual(['2025-12-11', '2026-02-08', '2026-02-09', '2026-03-03', '2026-03-04', '2026-03-09', '2026-03-10']);
    const latency = steady.history.latency as Array<{ hour: string; avgMs: number | null }>;
    expect(latency[0]).toEqual({ hour: '2026-03-09T03:00:00.000Z', avgMs: 60 });
    expect(latency[21]).toEqual({ hour: '2026-03-10T00:00:00.000Z', avgMs: 155 }); // (3600 + 15000) / 120
    expect(latency[23]).toEqual({ hour: '2026-03-10T02:00:00.000Z', avgMs: 60 });
  });
});

describe('latency percentiles from the rollup histograms', () => {
  it('give p50 and p95 per hour and per day', async () => {
    const res = await get('/api/v1/checks/default/steady').expect(200);
    const hour = (res.body.hourly as Array<Record<string, unknown>>).find((h) => h.start === '2026-03-10T00:00:00.000Z');
    // p50: rank 60 ends the (50,75] bucket -> 75; p95: rank 114 is 54/60 through (200,300] -> 290, capped by the 280 ms max.
    expect(hour).toEqual({ start: '2026-03-10T00:00:00.000Z', probes: 120, uptime: 100, p50Ms: 75, p95Ms: 280, maxMs: 280 });
    const emptyHour = (res.body.hourly as Array<Record<string, unknown>>).find((h) => h.start === '2026-03-09T04:00:00.000Z');
    expect(emptyHour).toEqual({ start: '2026-03-09T04:00:00.000Z', probes: 0, uptime: null, p50Ms: null, p95Ms: null, maxMs: null });
    const day = (res.body.daily as Array<Record<string, unknown>>).find((d) => d.start === '2026-03-09T00:00:00.000Z');
    // All 2820 successes in (50,75]: p50 at 1410/2820 -> 62.5 -> 63; p95 capped by the 70 ms max.
    expect(day).toEqual({ start: '2026-03-09T00:00:00.000Z', probes: 2880, uptime: 97.916, p50Ms: 63, p95Ms: 70, maxMs: 70 });
  });
});

describe('uptime windows as time goes on', () => {
  // Settled days and hours are summed once and kept; the open ones are read on every request.
  it("reflect new probes in today's and the current hour's rollups at once", async () => {
    await pool.query(
      `UPDATE vigil.uptime_rollups SET probes = probes + 60, successes = successes + 60
       WHERE check_uid = (SELECT uid FROM vigil.checks WHERE name = 'steady')
         AND ((granularity = 'hour' AND bucket_start = '2026-03-10T02:00:00Z') OR (granularity = 'day' AND bucket_start = '2026-03-10'))`,
    );
    // results=3: another cache key than the earlier requests, so no reused response.
    const res = await get('/api/v1/checks/default/steady?results=3').expect(200);
    expect(res.body.uptime).toEqual({
      '24h': 81.25, // 390 / 480
      '7d': 98.019, // 5940 / 6060
      '30d': 68.812, // 6840 / 9940
      '90d': 71.467, // 7890 / 11040
    });
  });

  it('move with the clock: the next day drops the oldest days and the hours before the window', async () => {
    clock = new Date('2026-03-11T02:30:00Z'); // 7d from 03-05, 30d from 02-10, 90d from 2025-12-12
    const res = await get('/api/v1/checks/default/steady?results=4').expect(200);
    expect(res.body.uptime).toEqual({
      '24h': null, // no hour rollups since 2026-03-10T03:00
      '7d': 96.226, // (240 + 2820) / (300 + 2880)
      '30d': 66.442, // (3060 + 2880 + 0) / (3180 + 2880 + 2880)
      '90d': 71.663, // (5940 + 900 + 1000) / (8940 + 1000 + 1000)
    });
  });
});
