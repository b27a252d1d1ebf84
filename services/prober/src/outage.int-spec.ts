import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool, migrate, type Pool } from '@vigil/db';
import { DOWN, HttpTarget, UP, waitFor, type ServiceProcess } from '@vigil/testing';
import { insertChecks, metric, startDatabase, startProber, type TestDb } from './testing/fixtures.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const INTERVAL_MS = 5_000;

let t: TestDb;
const targets: HttpTarget[] = [];

beforeAll(async () => {
  t = await startDatabase();
});

afterAll(async () => {
  await Promise.all(targets.map((x) => x.stop()));
  await t?.pool.end().catch(() => undefined);
  await t?.server.destroy();
});

describe('configuration', () => {
  it('lists every bad variable as JSON on stderr and exits 1', async () => {
    const child = spawn(process.execPath, [MAIN], {
      env: { PATH: process.env.PATH, DATABASE_URL: t.db.url, SSRF_ALLOW_CIDRS: '127.0.0.1/40,nope', PROBE_CONCURRENCY: '0', RESULT_FLUSH_INTERVAL: 'soon' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(JSON.parse(stderr.trim())).toMatchObject({
      level: 'fatal',
      service: 'prober',
      problems: [
        'SSRF_ALLOW_CIDRS="127.0.0.1/40,nope" is invalid: not a CIDR: 127.0.0.1/40, nope',
        'PROBE_CONCURRENCY="0" is invalid: must be at least 1',
        'RESULT_FLUSH_INTERVAL="soon" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "soon"',
      ],
    });
  });
});

describe('a Postgres outage', () => {
  // Two databases on the one server, so one outage hits both: `bounded` has
  // one prober keeping at most 100 results in memory; `ample` has two probers
  // with the default bound (100k).
  interface Fleet {
    name: string;
    pool: Pool;
    probers: ServiceProcess[];
    flipUids: string[];
    all: string[];
    steady: HttpTarget;
  }
  const fleets: Fleet[] = [];
  const flipping: HttpTarget[] = [];

  afterAll(async () => {
    for (const fleet of fleets) {
      await Promise.all(fleet.probers.map((p) => p.stop()));
      if (fleet.pool !== t.pool) await fleet.pool.end().catch(() => undefined);
    }
  });

  async function startFleet(name: string, pool: Pool, url: string, replicas: Record<string, Record<string, string>>): Promise<Fleet> {
    const steady = await HttpTarget.start({ behaviour: UP });
    const flips = await HttpTarget.start({ behaviour: UP });
    targets.push(steady, flips);
    flipping.push(flips);
    const probers = await Promise.all(Object.entries(replicas).map(([instance, env]) => startProber(url, instance, env)));
    const flipUids = await insertChecks(pool, Array.from({ length: 10 }, (_, i) => ({ name: `flip-${i}`, url: flips.url(`/${i}`) })));
    const steadyUids = await insertChecks(pool, Array.from({ length: 90 }, (_, i) => ({ name: `steady-${i}`, url: steady.url(`/${i}`) })));
    const fleet = { name, pool, probers, flipUids, all: [...flipUids, ...steadyUids], steady };
    fleets.push(fleet);
    return fleet;
  }

  it('keeps probing held checks, loses no transition, drops only results beyond the bound, and resumes', async () => {
    const otherDb = await t.server.createDatabase();
    const otherPool = createPool({ connectionString: otherDb.url, applicationName: 'prober-test', max: 2 });
    await migrate(otherPool);
    const bounded = await startFleet('bounded', t.pool, t.db.url, { small: { RESULT_BUFFER_LIMIT: '100' } });
    const ample = await startFleet('ample', otherPool, otherDb.url, { 'large-a': {}, 'large-b': {} });
    for (const fleet of fleets) {
      await waitFor(`every check of ${fleet.name} up`, async () => {
        const { rows } = await fleet.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE state = 'up'`);
        return rows[0]!.n === fleet.all.length;
      }, { timeoutMs: 30_000, intervalMs: 250 });
    }
    // Let every check finish a full slot on its grid, so each prober holds its share.
    await new Promise((r) => setTimeout(r, INTERVAL_MS + 1_000));

    await t.server.stop();
    const stoppedAt = Date.now();
    for (const flips of flipping) flips.set(DOWN);
    const probers = fleets.flatMap((f) => f.probers);
    await waitFor('every prober to notice the outage', async () => {
      const available = await Promise.all(probers.map((p) => metric(p, 'vigil_prober_postgres_available')));
      return available.every((v) => v === 0);
    }, { timeoutMs: 15_000, intervalMs: 250 });
    // Four intervals without Postgres: 40 probes/s keep running from memory.
    await new Promise((r) => setTimeout(r, 4 * INTERVAL_MS));
    for (const p of probers) expect((await fetch(`${p.opsUrl}/healthz`)).status).toBe(200);
    for (const flips of flipping) {
      expect(new Set(flips.requests.filter((r) => r.at > stoppedAt + 500).map((r) => r.path)).size).toBe(10);
    }
    const [small] = bounded.probers;
    expect(await metric(small!, 'vigil_prober_results_buffered')).toBe(100);
    expect(await metric(small!, 'vigil_prober_dropped_total', { reason: 'buffer_full' })).toBeGreaterThan(100);
    // Every held check kept being probed, however the two replicas split them:
    // all 90 steady paths were hit during the outage, and both replicas'
    // buffers hold about four intervals' worth of results between them.
    for (const fleet of fleets) {
      expect(new Set(fleet.steady.requests.filter((r) => r.at > stoppedAt + 500).map((r) => r.path)).size).toBe(90);
    }
    const ampleBuffered = await Promise.all(ample.probers.map((p) => metric(p, 'vigil_prober_results_buffered')));
    expect(ampleBuffered.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(3 * ample.all.length);
    for (const fleet of fleets) {
      const buffered = await Promise.all(fleet.probers.map((p) => metric(p, 'vigil_prober_transitions_buffered')));
      expect(buffered.reduce((a, b) => a + b, 0)).toBe(10);
    }

    await t.server.restart();
    const restartedAt = Date.now();
    // Drained: no transition waiting, and only the last half second of results (new probes keep coming).
    await waitFor('buffers written', async () => {
      const transitionsLeft = await Promise.all(probers.map((p) => metric(p, 'vigil_prober_transitions_buffered')));
      const resultsLeft = await Promise.all(probers.map((p) => metric(p, 'vigil_prober_results_buffered')));
      return transitionsLeft.every((v) => v === 0) && resultsLeft.every((v) => v < 40);
    }, { timeoutMs: 30_000, intervalMs: 250 });

    for (const fleet of fleets) {
      // Every transition made during the outage is there, once, beyond the result bound too.
      const { rows: transitions } = await fleet.pool.query<{ check_uid: string; from_state: string; at: Date }>(
        `SELECT check_uid, from_state, at FROM vigil.transitions WHERE to_state = 'down' ORDER BY check_uid`,
      );
      expect(transitions.map((r) => r.check_uid).sort()).toEqual([...fleet.flipUids].sort());
      for (const tr of transitions) {
        expect(tr.from_state).toBe('up');
        expect(tr.at.getTime()).toBeGreaterThan(stoppedAt);
        expect(tr.at.getTime()).toBeLessThan(restartedAt);
      }
      const { rows: states } = await fleet.pool.query<{ state: string }>(`SELECT state FROM vigil.checks WHERE uid = ANY($1::uuid[])`, [fleet.flipUids]);
      expect(states.map((s) => s.state)).toEqual(new Array(10).fill('down'));
    }

    // Within the bound nothing was lost: each check has a result for every
    // slot of the outage, probed from memory by the replica that held it.
    const { rows: outage } = await ample.pool.query<{ check_uid: string; due: Date[] }>(
      `SELECT check_uid, array_agg(due_at ORDER BY due_at) AS due FROM vigil.probe_results
       WHERE started_at > $1 AND started_at < $2 GROUP BY check_uid`,
      // Slots due right at the outage's start may have been another replica's and are skipped (see the README).
      [new Date(stoppedAt + 2_500), new Date(restartedAt - 1_000)],
    );
    expect(outage).toHaveLength(100);
    const slotsInOutage = Math.floor((restartedAt - stoppedAt - 3_500) / INTERVAL_MS);
    for (const row of outage) {
      for (let i = 1; i < row.due.length; i++) expect(row.due[i]!.getTime() - row.due[i - 1]!.getTime()).toBe(INTERVAL_MS);
      expect(row.due.length).toBeGreaterThanOrEqual(slotsInOutage - 1);
    }
    for (const p of ample.probers) expect(await metric(p, 'vigil_prober_dropped_total')).toBe(0);

    // And probing resumes through Postgres for every check.
    for (const fleet of fleets) {
      await waitFor(`a result after the restart for every check of ${fleet.name}`, async () => {
        const { rows } = await fleet.pool.query<{ n: number }>(
          `SELECT count(DISTINCT check_uid)::int AS n FROM vigil.probe_results WHERE started_at > $1`,
          [new Date(restartedAt + 1_000)],
        );
        return rows[0]!.n === fleet.all.length;
      }, { timeoutMs: 30_000, intervalMs: 500 });
    }
  });

  it('on SIGTERM finishes, writes what it holds, releases its leases and exits 0', async () => {
    const ample = fleets[1]!;
    const [leaving, staying] = ample.probers;
    expect(await leaving!.stop('SIGTERM', 20_000)).toBe(0);
    const { rows } = await ample.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner = 'large-a'`);
    expect(rows[0]!.n).toBe(0);
    const logs = await leaving!.logs();
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
    expect(logs.filter((l) => l.msg === 'results not written before shutdown' || l.msg === 'transitions not written before shutdown')).toEqual([]);
    // The survivor takes every check over.
    const after = Date.now();
    await waitFor('the survivor to probe every check', async () => {
      const { rows: probed } = await ample.pool.query<{ n: number }>(
        `SELECT count(DISTINCT check_uid)::int AS n FROM vigil.probe_results WHERE started_at > $1 AND prober = 'large-b'`,
        [new Date(after)],
      );
      return probed[0]!.n === 100;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    expect(await staying!.stop('SIGTERM', 20_000)).toBe(0);
  });
});
