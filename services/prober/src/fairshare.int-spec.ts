import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, migrate } from '@vigil/db';
import { HttpTarget, UP, waitFor, type ServiceProcess } from '@vigil/testing';
import { insertChecks, metric, startDatabase, startProber, type TestDb } from './testing/fixtures.js';

// The shape, shrunk in time: namespace A has 300 checks against a
// host that accepts connections and never answers, with timeouts above the
// prober's cap (clamped to it); namespace B has ordinary checks. One replica
// with 32 probe slots: before fair share, A held all 32 and B's probes queued
// behind A's timeouts.
const CONCURRENCY = 32;
const INTERVAL_MS = 5_000;
const TIMEOUT_CAP_MS = 3_000;
const A_TIMEOUT_MS = 4_900;
const SLOW_CHECKS = 300;
const B_CHECKS = 20;
const WINDOW_MS = 20_000;
const SHUTDOWN_GRACE_MS = 500;

let t: TestDb;
let silent: HttpTarget;
let healthy: HttpTarget;
let prober: ServiceProcess;
let aUids: string[] = [];
let bUids: string[] = [];

beforeAll(async () => {
  t = await startDatabase();
  silent = await HttpTarget.start({ behaviour: { kind: 'hang' } });
  healthy = await HttpTarget.start({ behaviour: UP });
  prober = await startProber(t.db.url, 'fair', {
    PROBE_CONCURRENCY: String(CONCURRENCY),
    PROBE_TIMEOUT_MAX: `${TIMEOUT_CAP_MS}ms`,
    PROBE_SHUTDOWN_GRACE: `${SHUTDOWN_GRACE_MS}ms`,
    CLAIM_LEASE: '3s',
    LOG_LEVEL: 'info',
  });
});

afterAll(async () => {
  await prober?.stop('SIGKILL');
  await t?.pool.end().catch(() => undefined);
  await Promise.all([silent?.stop(), healthy?.stop()]);
  await t?.server.destroy();
});

describe('fair share between namespaces', () => {
  it(`${SLOW_CHECKS} silent checks in one namespace delay another namespace's probes by less than one interval`, async () => {
    aUids = await insertChecks(
      t.pool,
      Array.from({ length: SLOW_CHECKS }, (_, i) => ({ namespace: 'tenant-a', name: `silent-${i}`, url: silent.url(`/${i}`), intervalMs: INTERVAL_MS, timeoutMs: A_TIMEOUT_MS })),
    );
    // A's probes fill (at least) its share of the replica.
    await waitFor('namespace A probes in flight', async () => (await metric(prober, 'vigil_prober_probes_in_flight')) >= CONCURRENCY / 2 - 1, { timeoutMs: 15_000, intervalMs: 100 });
    const deferralsBefore = await metric(prober, 'vigil_prober_share_deferrals_total');

    const bStart = Date.now();
    bUids = await insertChecks(
      t.pool,
      Array.from({ length: B_CHECKS }, (_, i) => ({ namespace: 'tenant-b', name: `ok-${i}`, url: healthy.url(`/${i}`), intervalMs: INTERVAL_MS, timeoutMs: 2_000 })),
    );
    // A's probes come in waves (all time out together, then the next ones start): sample.
    let mostInFlight = 0;
    while (Date.now() < bStart + WINDOW_MS) {
      mostInFlight = Math.max(mostInFlight, await metric(prober, 'vigil_prober_probes_in_flight'));
      await new Promise((r) => setTimeout(r, 250));
    }
    const deferralsAfter = await metric(prober, 'vigil_prober_share_deferrals_total');
    const bEnd = Date.now() - 1_000;

    // B's lateness, from the stored results: every slot due in the window probed, on time.
    const { rows } = await t.pool.query<{ check_uid: string; due: Date[]; started: Date[]; ok: boolean[] }>(
      `SELECT check_uid, array_agg(due_at ORDER BY due_at) AS due, array_agg(started_at ORDER BY due_at) AS started, array_agg(ok ORDER BY due_at) AS ok
       FROM vigil.probe_results WHERE check_uid = ANY($1::uuid[]) AND due_at < $2 GROUP BY check_uid`,
      [bUids, new Date(bEnd)],
    );
    expect(rows).toHaveLength(B_CHECKS);
    const lateness: number[] = [];
    for (const row of rows) {
      // The first slot is the insert ("due now"), then one per interval: none skipped.
      expect(row.due[0]!.getTime()).toBeGreaterThanOrEqual(bStart - 1_000);
      expect(row.due.length).toBeGreaterThanOrEqual(Math.floor((bEnd - bStart) / INTERVAL_MS));
      for (let i = 2; i < row.due.length; i++) expect(row.due[i]!.getTime() - row.due[i - 1]!.getTime()).toBe(INTERVAL_MS);
      expect(row.ok.every(Boolean)).toBe(true);
      row.started.forEach((at, i) => lateness.push(at.getTime() - row.due[i]!.getTime()));
    }
    const worst = Math.max(...lateness);
    // The must-show bound is one interval; in fact B's probes start on time.
    expect(worst).toBeLessThan(INTERVAL_MS);
    expect(worst).toBeLessThan(1_000);

    // A kept its share of the replica busy and kept wanting more, all through the window.
    expect(mostInFlight).toBeGreaterThanOrEqual(CONCURRENCY / 2 - 1);
    expect(deferralsAfter).toBeGreaterThan(deferralsBefore);

    // A's rows ask for 4.9 s; the prober clamped them to its cap.
    const { rows: aResults } = await t.pool.query<{ reason: string; message: string; total_ms: number }>(
      `SELECT reason, message, total_ms FROM vigil.probe_results WHERE check_uid = ANY($1::uuid[])`,
      [aUids],
    );
    expect(aResults.length).toBeGreaterThan(CONCURRENCY / 2);
    for (const r of aResults) {
      expect(r.reason).toBe('Timeout');
      expect(r.message).toContain(`no answer within ${TIMEOUT_CAP_MS} ms`);
      expect(r.total_ms).toBeLessThan(A_TIMEOUT_MS - 500);
    }

    // Leaving while slots are deferred and probes run: exit 0, no claim left behind.
    expect(await prober.stop('SIGTERM', 30_000)).toBe(0);
    const { rows: leases } = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL`);
    expect(leases[0]!.n).toBe(0);
  });

  it('on SIGTERM aborts silent probes within the grace period, records nothing for them and releases their claims', async () => {
    // A database and a replica of their own, with the default 60 s cap: checks
    // whose probes would hold their slots for 30 s.
    const db = await t.server.createDatabase();
    const pool = createPool({ connectionString: db.url, applicationName: 'prober-test', max: 2 });
    try {
      await migrate(pool);
      const leaving = await startProber(db.url, 'leaving', { PROBE_CONCURRENCY: String(CONCURRENCY), PROBE_SHUTDOWN_GRACE: `${SHUTDOWN_GRACE_MS}ms`, LOG_LEVEL: 'info' });
      const uids = await insertChecks(
        pool,
        Array.from({ length: 40 }, (_, i) => ({ namespace: 'tenant-a', name: `silent-${i}`, url: silent.url(`/long-${i}`), intervalMs: 60_000, timeoutMs: 30_000 })),
      );
      await waitFor('silent probes in flight', async () => (await metric(leaving, 'vigil_prober_probes_in_flight')) >= CONCURRENCY / 2 - 1, { timeoutMs: 15_000, intervalMs: 100 });
      const { rows: claimed } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner = 'leaving'`);
      expect(claimed[0]!.n).toBeGreaterThan(0);

      const signalledAt = Date.now();
      const code = await leaving.stop('SIGTERM', 30_000);
      const took = Date.now() - signalledAt;
      expect(code).toBe(0);
      // Within a pod's grace period, and far less than the probes' 30 s: cut short, not awaited.
      expect(took).toBeLessThan(5_000);
      const logs = await leaving.logs();
      const aborting = logs.find((l) => l.msg === 'aborting running probes');
      expect(aborting?.probes).toBeGreaterThanOrEqual(CONCURRENCY / 2 - 1);

      // Every claim released; the aborted slots are still due, so another replica claims them in its next period.
      const { rows } = await pool.query<{ leased: number; due: number; pending: number }>(
        `SELECT count(*) FILTER (WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL)::int AS leased,
                count(*) FILTER (WHERE next_due_at <= now())::int AS due,
                count(*) FILTER (WHERE state = 'pending')::int AS pending
         FROM vigil.checks WHERE uid = ANY($1::uuid[])`,
        [uids],
      );
      expect(rows[0]).toEqual({ leased: 0, due: uids.length, pending: uids.length });
      // No result, so no `down`, from an aborted probe.
      const { rows: results } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.probe_results WHERE check_uid = ANY($1::uuid[])`, [uids]);
      expect(results[0]!.n).toBe(0);
      const { rows: transitions } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.transitions WHERE check_uid = ANY($1::uuid[])`, [uids]);
      expect(transitions[0]!.n).toBe(0);
    } finally {
      await pool.end();
    }
  });
});
