import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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
    // A fills its share of the replica, and its other due slots are given back.
    await waitFor('namespace A at its share', async () => (await metric(prober, 'vigil_prober_namespaces_at_share')) >= 1 && (await metric(prober, 'vigil_prober_share_deferrals_total')) > 0, {
      timeoutMs: 15_000,
      intervalMs: 200,
    });
    expect(await metric(prober, 'vigil_prober_probes_in_flight')).toBeGreaterThanOrEqual(CONCURRENCY / 2 - 1);

    const bStart = Date.now();
    bUids = await insertChecks(
      t.pool,
      Array.from({ length: B_CHECKS }, (_, i) => ({ namespace: 'tenant-b', name: `ok-${i}`, url: healthy.url(`/${i}`), intervalMs: INTERVAL_MS, timeoutMs: 2_000 })),
    );
    await new Promise((r) => setTimeout(r, WINDOW_MS));
    const inFlightLate = await metric(prober, 'vigil_prober_probes_in_flight');
    // A still holds the replica's slots it may (its share) at the end of the window.
    expect(inFlightLate).toBeGreaterThanOrEqual(CONCURRENCY / 2 - 1);
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
  });

  it('on SIGTERM aborts the silent probes within the grace period, records nothing for them and releases their claims', async () => {
    const inFlight = await metric(prober, 'vigil_prober_probes_in_flight');
    expect(inFlight).toBeGreaterThan(0);
    const { rows: before } = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner = 'fair'`);
    expect(before[0]!.n).toBeGreaterThan(0);
    const { rows: downBefore } = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.probe_results WHERE check_uid = ANY($1::uuid[])`, [aUids]);

    const signalledAt = Date.now();
    const code = await prober.stop('SIGTERM', 20_000);
    const took = Date.now() - signalledAt;
    expect(code).toBe(0);
    // Well within a pod's grace period, and shorter than one probe timeout: the probes were cut short, not awaited.
    expect(took).toBeLessThan(TIMEOUT_CAP_MS);

    const logs = await prober.logs();
    const aborting = logs.find((l) => l.msg === 'aborting running probes');
    expect(aborting?.probes).toBeGreaterThan(0);

    // Every claim released, the aborted slots due (another replica claims them at once).
    const { rows: leases } = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner IS NOT NULL OR lease_expires_at IS NOT NULL`);
    expect(leases[0]!.n).toBe(0);
    const { rows: claimable } = await t.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM vigil.checks WHERE namespace = 'tenant-a' AND next_due_at <= now()`,
    );
    expect(claimable[0]!.n).toBeGreaterThanOrEqual(Number(aborting?.probes));

    // No `down` from an aborted probe: every stored A result is a full timeout
    // that ended before the signal or within the grace, never one cut short.
    const { rows: after } = await t.pool.query<{ n: number; cut: number; late: number }>(
      `SELECT count(*)::int AS n,
              count(*) FILTER (WHERE total_ms < $2)::int AS cut,
              count(*) FILTER (WHERE started_at + total_ms * interval '1 millisecond' > $3)::int AS late
       FROM vigil.probe_results WHERE check_uid = ANY($1::uuid[])`,
      [aUids, TIMEOUT_CAP_MS - 100, new Date(signalledAt + SHUTDOWN_GRACE_MS + 200)],
    );
    expect(after[0]!.cut).toBe(0);
    expect(after[0]!.late).toBe(0);
    expect(after[0]!.n).toBeGreaterThanOrEqual(downBefore[0]!.n);
    // Checks never probed to the end are not down: state changed only with a stored result.
    const { rows: states } = await t.pool.query<{ down_without_result: number }>(
      `SELECT count(*)::int AS down_without_result FROM vigil.checks c
       WHERE c.namespace = 'tenant-a' AND c.state = 'down'
         AND NOT EXISTS (SELECT 1 FROM vigil.probe_results r WHERE r.check_uid = c.uid)`,
    );
    expect(states[0]!.down_without_result).toBe(0);
  });
});
