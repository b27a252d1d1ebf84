import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { HttpTarget, VigilStack, waitFor, waitForReady } from '@vigil/testing';
import { applyChecks, checkManifest, createNamespace, openDatabase } from './support/check-fleet.js';

// Scenario 4, scale: probers share the checks through claims in Postgres.
// Parameters: 30 checks every 5 s against one local target; CLAIM_LEASE 3s;
// 2 probers, then 4 for ~20 s, then 1 (the other three get SIGTERM) for ~20 s.
const NAMESPACE = 'scale';
const CHECKS = 30;
const INTERVAL_MS = 5_000;

let stack: VigilStack;
let target: HttpTarget;
let db: pg.Pool;

beforeAll(async () => {
  stack = await VigilStack.start({ probers: 2, alerters: 1, apis: 0, env: { prober: { CLAIM_LEASE: '3s' } } });
  target = await HttpTarget.start();
  db = openDatabase(stack.db.url);
  await createNamespace(stack.plane, NAMESPACE);
  await applyChecks(
    stack.plane,
    Array.from({ length: CHECKS }, (_, i) => checkManifest(NAMESPACE, `site-${i}`, target.url(`/site-${i}`), { interval: '5s' })),
  );
});

afterAll(async () => {
  await db?.end();
  await target?.stop();
  await stack?.stop();
});

async function databaseNow(): Promise<Date> {
  return (await db.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
}

/** Probes per check and prober whose slot was due at or after `since`. */
async function probesSince(since: Date): Promise<Array<{ name: string; prober: string; probes: number }>> {
  const { rows } = await db.query<{ name: string; prober: string; probes: string }>(
    `SELECT c.name, r.prober, count(*) AS probes
       FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
      WHERE c.namespace = $1 AND r.due_at >= $2
      GROUP BY c.name, r.prober`,
    [NAMESPACE, since],
  );
  return rows.map((r) => ({ name: r.name, prober: r.prober, probes: Number(r.probes) }));
}

const byProber = (rows: Array<{ prober: string; probes: number }>) =>
  rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.prober]: (acc[r.prober] ?? 0) + r.probes }), {});
const checksSeen = (rows: Array<{ name: string }>) => new Set(rows.map((r) => r.name)).size;

describe('scaling probers', () => {
  it('probes every check with 2 probers', async () => {
    await waitFor(
      `all ${CHECKS} checks probed twice`,
      async () => {
        const { rows } = await db.query<{ n: string }>(
          `SELECT count(*) AS n FROM (SELECT r.check_uid FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
             WHERE c.namespace = $1 GROUP BY r.check_uid HAVING count(*) >= 2) t`,
          [NAMESPACE],
        );
        return Number(rows[0]!.n) === CHECKS;
      },
      { timeoutMs: 60_000, intervalMs: 1_000 },
    );
    const rows = await probesSince(new Date(0));
    expect(checksSeen(rows)).toBe(CHECKS);
    expect(Object.keys(byProber(rows)).sort()).toEqual(['prober-0', 'prober-1']);
  });

  it('spreads the load when going from 2 to 4 probers', async () => {
    const added = await Promise.all([stack.startInstance('prober', 2), stack.startInstance('prober', 3)]);
    await Promise.all(added.map((p) => waitForReady(p, 60_000)));
    const since = await databaseNow();
    await sleep(4 * INTERVAL_MS);
    const rows = await probesSince(since);
    const load = byProber(rows);
    expect(Object.keys(load).sort()).toEqual(['prober-0', 'prober-1', 'prober-2', 'prober-3']);
    for (const prober of ['prober-2', 'prober-3']) expect(load[prober]).toBeGreaterThan(0);
    // Nobody carries it all, and every check keeps being probed.
    const total = Object.values(load).reduce((a, b) => a + b, 0);
    for (const share of Object.values(load)) expect(share).toBeLessThan(total);
    expect(checksSeen(rows)).toBe(CHECKS);
  });

  it('loses no check when going from 4 to 1 prober', async () => {
    await Promise.all(['prober-1', 'prober-2', 'prober-3'].map((p) => stack.kill(p, 'SIGTERM')));
    const since = await databaseNow();
    await sleep(4 * INTERVAL_MS);
    const until = await databaseNow();
    const rows = await probesSince(since);
    expect(Object.keys(byProber(rows))).toEqual(['prober-0']);
    expect(checksSeen(rows)).toBe(CHECKS);
    // Every slot of every check in the window was probed: none was lost with its replica.
    const { rows: slots } = await db.query<{ name: string; probes: string }>(
      `SELECT c.name, count(r.*) AS probes FROM vigil.checks c
         LEFT JOIN vigil.probe_results r ON r.check_uid = c.uid AND r.due_at >= $2 AND r.due_at < $3
        WHERE c.namespace = $1 GROUP BY c.name`,
      [NAMESPACE, new Date(since.getTime() + INTERVAL_MS), new Date(until.getTime() - INTERVAL_MS)],
    );
    expect(slots).toHaveLength(CHECKS);
    for (const s of slots) expect(Number(s.probes)).toBeGreaterThanOrEqual(2);
  });

  it('never probed a check twice within one interval', async () => {
    const { rows: duplicates } = await db.query(
      `SELECT check_uid, due_at, count(*) FROM vigil.probe_results GROUP BY check_uid, due_at HAVING count(*) > 1`,
    );
    expect(duplicates).toEqual([]);
    // Consecutive slots of a check are exactly one interval apart; only the
    // first (due "now" at creation) is followed by the first grid slot, up to two intervals later.
    const { rows: gaps } = await db.query<{ name: string; gap_ms: string; first: boolean; probes: string }>(
      `SELECT name, gap_ms, first FROM (
         SELECT c.name,
                round(extract(epoch FROM r.due_at - lag(r.due_at) OVER w) * 1000) AS gap_ms,
                row_number() OVER w = 2 AS first
           FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
          WHERE c.namespace = $1
         WINDOW w AS (PARTITION BY r.check_uid ORDER BY r.due_at)) t
        WHERE gap_ms IS NOT NULL`,
      [NAMESPACE],
    );
    expect(gaps.length).toBeGreaterThan(CHECKS * 8);
    const wrong = gaps.filter((g) =>
      g.first ? Number(g.gap_ms) < INTERVAL_MS || Number(g.gap_ms) >= 2 * INTERVAL_MS : Number(g.gap_ms) !== INTERVAL_MS,
    );
    expect(wrong).toEqual([]);
  });
});
