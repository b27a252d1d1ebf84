import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpTarget, UP, waitFor, type ServiceProcess } from '@vigil/testing';
import { insertChecks, startDatabase, startProber, type TestDb } from './testing/fixtures.js';

// The shape: 3 replicas, 300 checks every 5 s, observed for 60 s.
const REPLICAS = 3;
const CHECKS = 300;
const INTERVAL_MS = 5_000;
const TIMEOUT_MS = 2_000;
const WINDOW_MS = 60_000;
const CLAIM_LEASE_MS = 3_000;

let t: TestDb;
let target: HttpTarget;
let probers: ServiceProcess[] = [];
let uids: string[] = [];

beforeAll(async () => {
  t = await startDatabase();
  target = await HttpTarget.start({ behaviour: UP });
  probers = await Promise.all(
    Array.from({ length: REPLICAS }, (_, i) => startProber(t.db.url, `replica-${i}`, { CLAIM_LEASE: `${CLAIM_LEASE_MS}ms`, LOG_LEVEL: 'warn' })),
  );
  uids = await insertChecks(
    t.pool,
    Array.from({ length: CHECKS }, (_, i) => ({ name: `c${i}`, url: target.url(`/${i}`), intervalMs: INTERVAL_MS, timeoutMs: TIMEOUT_MS })),
  );
});

afterAll(async () => {
  await Promise.all(probers.map((p) => p.stop()));
  await t?.pool.end();
  await target?.stop();
  await t?.server.destroy();
});

interface Slots {
  check_uid: string;
  due: Date[];
  started: Date[];
  probers: string[];
}

async function slotsBetween(from: number, to: number): Promise<Map<string, Slots>> {
  const { rows } = await t.pool.query<Slots>(
    `SELECT check_uid, array_agg(due_at ORDER BY due_at) AS due, array_agg(started_at ORDER BY due_at) AS started, array_agg(prober ORDER BY due_at) AS probers
     FROM vigil.probe_results WHERE due_at >= $1 AND due_at < $2 GROUP BY check_uid`,
    [new Date(from), new Date(to)],
  );
  return new Map(rows.map((r) => [r.check_uid, r]));
}

describe('sharing checks between replicas', () => {
  it(`probes each of ${CHECKS} checks exactly once per ${INTERVAL_MS / 1000} s slot with ${REPLICAS} replicas over ${WINDOW_MS / 1000} s`, async () => {
    await waitFor('every check probed once', async () => {
      const { rows } = await t.pool.query<{ n: number }>(`SELECT count(DISTINCT check_uid)::int AS n FROM vigil.probe_results`);
      return rows[0]!.n === CHECKS;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    const from = Date.now() + INTERVAL_MS;
    const to = from + WINDOW_MS;
    await new Promise((r) => setTimeout(r, to - Date.now() + TIMEOUT_MS + 1_500));

    const slots = await slotsBetween(from, to);
    expect(slots.size).toBe(CHECKS);
    const expected = WINDOW_MS / INTERVAL_MS;
    const lateness: number[] = [];
    const perProber = new Map<string, number>();
    for (const uid of uids) {
      const s = slots.get(uid)!;
      // Slots are on a fixed grid: a 60 s window holds exactly 12 of them.
      expect(s.due.length).toBeGreaterThanOrEqual(expected - 1);
      expect(s.due.length).toBeLessThanOrEqual(expected + 1);
      // None twice, none skipped: consecutive slots are exactly one interval apart.
      for (let i = 1; i < s.due.length; i++) expect(s.due[i]!.getTime() - s.due[i - 1]!.getTime()).toBe(INTERVAL_MS);
      s.started.forEach((at, i) => lateness.push(at.getTime() - s.due[i]!.getTime()));
      for (const p of s.probers) perProber.set(p, (perProber.get(p) ?? 0) + 1);
    }
    // Across the whole run too, no slot was probed twice.
    const { rows: dup } = await t.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT check_uid, due_at FROM vigil.probe_results GROUP BY 1, 2 HAVING count(*) > 1) d`,
    );
    expect(dup[0]!.n).toBe(0);
    // Every replica took a share.
    expect([...perProber.keys()].sort()).toEqual(['replica-0', 'replica-1', 'replica-2']);
    lateness.sort((a, b) => a - b);
    const p = (q: number) => lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))]!;
    process.stdout.write(
      `exactly-once: ${lateness.length} probes, per replica ${JSON.stringify(Object.fromEntries(perProber))}, start lateness p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms\n`,
    );
    expect(lateness[0]!).toBeGreaterThanOrEqual(-50); // never early (clock offset estimate aside)
  });

  it('takes over the checks of a replica killed with SIGKILL within one interval plus the lease', async () => {
    // Kill the replica holding the most claimed-but-unfinished slots right now.
    let victimName = '';
    await waitFor('a replica holding claimed slots', async () => {
      const { rows } = await t.pool.query<{ owner: string; n: number }>(
        `SELECT lease_owner AS owner, count(*)::int AS n FROM vigil.checks WHERE lease_expires_at > now() GROUP BY 1 ORDER BY 2 DESC LIMIT 1`,
      );
      victimName = rows[0]?.owner ?? '';
      return (rows[0]?.n ?? 0) >= 3;
    }, { timeoutMs: 10_000, intervalMs: 50 });
    const victim = probers[Number(victimName.split('-')[1])]!;
    const { rows: leased } = await t.pool.query<{ uid: string; due: Date }>(
      `SELECT uid, next_due_at AS due FROM vigil.checks WHERE lease_owner = $1 AND lease_expires_at > now()`,
      [victimName],
    );
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const bound = INTERVAL_MS + TIMEOUT_MS + CLAIM_LEASE_MS;
    await new Promise((r) => setTimeout(r, bound + 3_000));

    // Each check's slots across the kill: the largest gap is at most interval + lease.
    const slots = await slotsBetween(killedAt - 2 * INTERVAL_MS, Date.now());
    let worstGap = 0;
    for (const uid of uids) {
      const s = slots.get(uid)!;
      const after = s.started.filter((d) => d.getTime() > killedAt);
      expect(after.length).toBeGreaterThan(0);
      expect(s.probers.slice(-1)[0]).not.toBe(victimName);
      for (let i = 1; i < s.started.length; i++) worstGap = Math.max(worstGap, s.started[i]!.getTime() - s.started[i - 1]!.getTime());
    }
    // The slots the dead replica had claimed but not finished are probed by the others once its leases expire.
    const { rows: takenOver } = await t.pool.query<{ check_uid: string; due_at: Date; started_at: Date; prober: string }>(
      `SELECT check_uid, due_at, started_at, prober FROM vigil.probe_results
       WHERE (check_uid, due_at) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[])) AND prober <> $3`,
      [leased.map((l) => l.uid), leased.map((l) => l.due), victimName],
    );
    const { rows: finishedByVictim } = await t.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM vigil.probe_results
       WHERE (check_uid, due_at) IN (SELECT * FROM unnest($1::uuid[], $2::timestamptz[])) AND prober = $3`,
      [leased.map((l) => l.uid), leased.map((l) => l.due), victimName],
    );
    expect(takenOver.length + finishedByVictim[0]!.n).toBe(leased.length);
    expect(takenOver.length).toBeGreaterThan(0);
    for (const r of takenOver) expect(r.started_at.getTime() - r.due_at.getTime()).toBeLessThanOrEqual(TIMEOUT_MS + CLAIM_LEASE_MS + 1_500);
    process.stdout.write(
      `failover: ${leased.length} slots leased by the victim at the kill, ${takenOver.length} taken over after their lease; worst gap between probes of one check ${worstGap} ms (bound ${bound} ms)\n`,
    );
    expect(worstGap).toBeLessThanOrEqual(bound + 1_000);
    // Its leases expired and were taken over; none is left with the dead replica.
    await waitFor('no live lease left with the dead replica', async () => {
      const { rows } = await t.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks WHERE lease_owner = $1 AND lease_expires_at > now()`, [victimName]);
      return rows[0]!.n === 0;
    });
    for (const p of probers.filter((x) => x !== victim)) expect((await fetch(`${p.opsUrl}/healthz`)).status).toBe(200);
  });
});
