import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '@vigil/service-runtime';
import { PostgresServer, waitFor, type TestDatabase } from '@vigil/testing';
import { DedicatedConnection } from './dedicated-connection.js';
import { ListenSession, type ListenSessionOptions } from './listen-session.js';
import { createPool, type Pool } from './pool.js';

const logger = createLogger('db-test', 'silent');
let server: PostgresServer;
let db: TestDatabase;
let pool: Pool;
const stops: Array<() => Promise<void>> = [];

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'listen-test', max: 2 });
});

afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

afterAll(async () => {
  await pool?.end();
  await server?.destroy();
});

/** A session whose callbacks are recorded; stopped after each test. */
function session(overrides: Partial<ListenSessionOptions> = {}) {
  const seen = { notified: [] as string[], catchUps: 0, polls: 0, connected: [] as boolean[] };
  const applicationName = `listen-${Math.floor(Math.random() * 1e9)}`;
  const s = new ListenSession({
    connectionString: db.url,
    applicationName,
    channels: ['vigil_checks', 'vigil_status'],
    logger,
    backoff: { initialMs: 100, maxMs: 500 },
    onNotify: (channel) => seen.notified.push(channel),
    onCatchUp: () => seen.catchUps++,
    onConnectedChange: (connected) => seen.connected.push(connected),
    ...overrides,
  });
  stops.push(() => s.stop());
  return { s, seen, applicationName };
}

async function backends(applicationName: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1`, [applicationName]);
  return rows[0]!.n;
}

describe('ListenSession', () => {
  it('catches up once connected, then wakes on a NOTIFY of its channels only', async () => {
    const { s, seen } = session();
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);
    expect(s.connected).toBe(true);
    expect(seen.connected).toEqual([true]);

    await pool.query(`NOTIFY vigil_transitions, 'not for this session'`);
    await pool.query(`NOTIFY vigil_status, '42'`);
    await pool.query(`SELECT pg_notify('vigil_checks', '')`);
    await waitFor('both notifications', () => seen.notified.length === 2);
    expect(seen.notified).toEqual(['vigil_status', 'vigil_checks']);
    expect(seen.catchUps).toBe(1);
  });

  it('reconnects after Postgres restarts, catches up, and wakes on the next NOTIFY', async () => {
    const { s, seen } = session();
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);

    await server.stop();
    await waitFor('the loss to be noticed', () => !s.connected);
    expect(seen.connected).toEqual([true, false]);
    await server.restart();
    await waitFor('the catch-up after the restart', () => seen.catchUps === 2, { timeoutMs: 20_000 });
    expect(s.connected).toBe(true);
    expect(seen.connected).toEqual([true, false, true]);

    await pool.query(`NOTIFY vigil_checks`);
    await waitFor('the notification after the restart', () => seen.notified.length === 1);
    expect(seen.notified).toEqual(['vigil_checks']);
  });

  it('reconnects when its backend is terminated', async () => {
    const { s, seen, applicationName } = session();
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);
    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [applicationName]);
    await waitFor('the catch-up after the reconnect', () => seen.catchUps === 2);
    await pool.query(`NOTIFY vigil_status`);
    await waitFor('the notification on the new connection', () => seen.notified.length === 1);
    expect(await backends(applicationName)).toBe(1);
  });

  it('polls as a backstop while Postgres is away', async () => {
    let polls = 0;
    const { s, seen } = session({ poll: { intervalMs: 50, run: () => polls++ } });
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);
    await server.stop();
    try {
      const before = polls;
      await new Promise((r) => setTimeout(r, 300));
      expect(polls - before).toBeGreaterThanOrEqual(3);
      expect(s.connected).toBe(false);
    } finally {
      await server.restart();
    }
    await waitFor('the catch-up after the restart', () => seen.catchUps === 2, { timeoutMs: 20_000 });
  });

  it('stops cleanly: the connection closes, and neither notifications, polls nor reconnects follow', async () => {
    let polls = 0;
    const { s, seen, applicationName } = session({ poll: { intervalMs: 50, run: () => polls++ } });
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);
    expect(await backends(applicationName)).toBe(1);

    await s.stop();
    expect(s.connected).toBe(false);
    expect(seen.connected).toEqual([true, false]);
    const pollsAtStop = polls;
    await pool.query(`NOTIFY vigil_checks`);
    await waitFor('the connection to close', async () => (await backends(applicationName)) === 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(polls).toBe(pollsAtStop);
    expect(seen.notified).toEqual([]);
    expect(seen.catchUps).toBe(1);
  });

  it('stops while Postgres is away without connecting later', async () => {
    const { s, seen, applicationName } = session();
    await server.stop();
    try {
      s.start();
      await new Promise((r) => setTimeout(r, 300));
      await s.stop();
    } finally {
      await server.restart();
    }
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await backends(applicationName)).toBe(0);
    expect(seen.catchUps).toBe(0);
    expect(seen.connected).toEqual([]);
  });

  it('survives callbacks that throw', async () => {
    let notified = 0;
    const { s, seen } = session({
      onNotify: () => {
        notified++;
        throw new Error('a bug in the reader');
      },
      onCatchUp: () => {
        seen.catchUps++;
        throw new Error('another bug');
      },
    });
    s.start();
    await waitFor('the first catch-up', () => seen.catchUps === 1);
    await pool.query(`NOTIFY vigil_checks`);
    await pool.query(`NOTIFY vigil_checks`);
    await waitFor('both notifications', () => notified === 2);
    expect(s.connected).toBe(true);
  });

  it('refuses a session without channels', () => {
    expect(() => session({ channels: [] })).toThrow('a ListenSession needs at least one channel');
  });
});

describe('DedicatedConnection', () => {
  it('keeps a session advisory lock until the connection is lost, and runs setup again on the new one', async () => {
    let ups = 0;
    let setups = 0;
    const downs: string[] = [];
    const applicationName = 'dedicated-test';
    const connection = new DedicatedConnection({
      connectionString: db.url,
      applicationName,
      purpose: 'test lock',
      logger,
      backoff: { initialMs: 100, maxMs: 500 },
      setup: async (client) => {
        setups++;
        await client.query('SELECT 1');
      },
      onUp: () => ups++,
      onDown: (err) => downs.push(err.message),
    });
    stops.push(() => connection.stop());
    await expect(connection.query('SELECT 1')).rejects.toThrow('the test lock connection is not up');
    connection.start();
    await waitFor('the connection', () => connection.connected);
    const { rows } = await connection.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(42) AS ok`);
    expect(rows[0]!.ok).toBe(true);
    const held = await pool.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(42) AS ok`);
    expect(held.rows[0]!.ok).toBe(false);

    await pool.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [applicationName]);
    await waitFor('the reconnect', () => ups === 2);
    expect(downs).toHaveLength(1);
    expect(setups).toBe(2);
    const free = await pool.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(42) AS ok, pg_advisory_unlock(42)`);
    expect(free.rows[0]!.ok).toBe(true);
  });
});
