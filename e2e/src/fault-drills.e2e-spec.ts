import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { DOWN, HttpTarget, VigilStack, waitFor, waitForReady } from '@vigil/testing';
import { applyChecks, checkManifest, createNamespace, openDatabase } from './support/check-fleet.js';
import { DrillExpectations, attemptsFor, expectConverged } from './support/drill-checks.js';

// Scenario 5, fault drills. One stack (1 watcher, 2 probers, 2 alerters,
// 1 api); one check per drill every 5 s, each against its own local target,
// flipped from up to down during its drill. Short leases and retries:
// CLAIM_LEASE 3s, WEBHOOK_TIMEOUT 8s (so a claim lasts 18 s), retries every
// 1 s, watcher lease 6s. After each drill: the expected transitions are stored
// and delivered, CR statuses converge, and every process the drill did not
// kill itself is the same one, alive and ready.
const NAMESPACE = 'drills';
const DRILLS = ['prober-crash', 'alerter-crash', 'receiver-outage', 'apiserver-restart', 'postgres-outage'] as const;

let stack: VigilStack;
let db: pg.Pool;
const targets = new Map<string, HttpTarget>();
const expected = new DrillExpectations(NAMESPACE);
/** pid of each instance; a drill that kills an instance (as the kubelet would) records its replacement. */
const pids = new Map<string, number>();

beforeAll(async () => {
  stack = await VigilStack.start({
    watchers: 1,
    probers: 2,
    alerters: 2,
    apis: 1,
    env: {
      prober: { CLAIM_LEASE: '3s' },
      alerter: { WEBHOOK_TIMEOUT: '8s', WEBHOOK_RETRY_SCHEDULE: Array(30).fill('1s').join(','), BACKSTOP_POLL_INTERVAL: '2s' },
      watcher: { LEASE_DURATION: '6s', LEASE_RENEW_DEADLINE: '4s', LEASE_RETRY_PERIOD: '1s' },
    },
  });
  db = openDatabase(stack.db.url);
  await createNamespace(stack.plane, NAMESPACE);
  for (const name of [...DRILLS, 'watcher-deleted', 'watcher-created', 'after-apiserver']) targets.set(name, await HttpTarget.start());
  await applyChecks(
    stack.plane,
    [...DRILLS, 'watcher-deleted'].map((name) => checkManifest(NAMESPACE, name, targets.get(name)!.url(`/${name}`))),
  );
  for (const name of [...DRILLS, 'watcher-deleted']) expected.transition(name, 'up');
  await expectConverged(stack, db, expected);
  for (const [name, service] of stack.services) pids.set(name, service.child.pid!);
});

afterAll(async () => {
  await db?.end();
  for (const target of targets.values()) await target.stop();
  await stack?.stop();
});

/** The drill's check goes down: its target answers 503 from now on. */
function flipDown(name: (typeof DRILLS)[number]): void {
  targets.get(name)!.set(DOWN);
  expected.transition(name, 'down');
}

/** What the kubelet does for a crashed container: start it again. */
async function replaceCrashed(instance: string): Promise<void> {
  const [kind, index] = instance.split('-') as ['prober' | 'alerter' | 'watcher', string];
  const service = await stack.startInstance(kind, Number(index));
  await waitForReady(service, 60_000);
  pids.set(instance, service.child.pid!);
}

/** Every instance is the one recorded (nobody restarted it by hand), alive and ready. */
async function expectSameProcessesReady(): Promise<void> {
  expect(Object.fromEntries([...stack.services].map(([name, s]) => [name, s.child.pid]))).toEqual(Object.fromEntries(pids));
  for (const [name, service] of stack.services) {
    expect([name, service.child.exitCode, service.child.signalCode]).toEqual([name, null, null]);
    await waitFor(`${name} ready`, async () => (await fetch(`${service.opsUrl}/readyz`)).status === 200, { timeoutMs: 60_000, intervalMs: 500 });
  }
}

async function databaseNow(): Promise<Date> {
  return (await db.query<{ now: Date }>('SELECT now()')).rows[0]!.now;
}

/** How many checks of the namespace `prober` probed in slots due at or after `since`. */
async function checksProbedSince(since: Date, prober: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(
    `SELECT count(DISTINCT r.check_uid) AS n FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
      WHERE c.namespace = $1 AND r.due_at >= $2 AND r.prober = $3`,
    [NAMESPACE, since, prober],
  );
  return Number(rows[0]!.n);
}

async function holderOf(deliveryId: string): Promise<string | null> {
  const { rows } = await db.query<{ locked_by: string | null }>(
    `SELECT locked_by FROM vigil.webhook_deliveries WHERE id = $1 AND status = 'pending' AND locked_until > now()`,
    [deliveryId],
  );
  return rows[0]?.locked_by ?? null;
}

describe('fault drills', () => {
  it('SIGKILL a prober', async () => {
    await stack.kill('prober-0', 'SIGKILL');
    const killedAt = await databaseNow();
    flipDown('prober-crash');
    await expectConverged(stack, db, expected);
    // prober-1 takes every slot once prober-0's leases (due + timeout + CLAIM_LEASE) run out.
    const leasesOver = new Date(killedAt.getTime() + 5_000 + 2_000 + 3_000);
    await waitFor('every check probed by prober-1 after the crash', async () => (await checksProbedSince(leasesOver, 'prober-1')) === DRILLS.length + 1, {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
    await replaceCrashed('prober-0');
    await expectSameProcessesReady();
  });

  it('SIGKILL an alerter mid-delivery', async () => {
    stack.receiver.behaviour = { kind: 'hang' };
    flipDown('alerter-crash');
    const attempts = () => attemptsFor(stack.receiver, NAMESPACE, 'alerter-crash', 'check.down');
    await waitFor('the check.down delivery in flight', () => attempts().length > 0, { timeoutMs: 60_000 });
    const id = attempts()[0]!.id;
    let holder: string | null = null;
    await waitFor('the alerter holding it', async () => Boolean((holder = await holderOf(id))), { timeoutMs: 10_000, intervalMs: 50 });
    await stack.kill(holder!, 'SIGKILL');
    stack.receiver.behaviour = { kind: 'accept' };
    await replaceCrashed(holder!);
    // The lost attempt is sent again once its claim runs out, with the same webhook-id and body.
    await waitFor('the lost attempt sent again', () => attempts().length >= 2, { timeoutMs: 60_000 });
    await expectConverged(stack, db, expected);
    expect(new Set(attempts().map((a) => a.id))).toEqual(new Set([id]));
    expect(new Set(attempts().map((a) => a.body)).size).toBe(1);
    await expectSameProcessesReady();
  });

  it('take the receiver down (503, then resets), then make it slow, then let it accept', async () => {
    stack.receiver.behaviour = { kind: 'fail', status: 503, body: 'down for maintenance' };
    const attempts = () => attemptsFor(stack.receiver, NAMESPACE, 'receiver-outage', 'check.down');
    flipDown('receiver-outage');
    await waitFor('deliveries refused with 503', () => attempts().length >= 2, { timeoutMs: 60_000 });
    stack.receiver.behaviour = { kind: 'reset' };
    await sleep(4_000);
    stack.receiver.behaviour = { kind: 'hang' };
    await sleep(10_000);
    stack.receiver.behaviour = { kind: 'accept' };
    await expectConverged(stack, db, expected);
    // Refused, reset and timed-out attempts, then the accepted one: all the same webhook-id.
    expect(new Set(attempts().map((r) => r.id)).size).toBe(1);
    expect(attempts().length).toBeGreaterThanOrEqual(4);
    await expectSameProcessesReady();
  });

  it('restart the apiserver', async () => {
    await stack.plane.stopApiServer();
    flipDown('apiserver-restart');
    // Probing and delivery do not need the API server.
    await waitFor(
      'the check.down webhook while the API server is down',
      () => attemptsFor(stack.receiver, NAMESPACE, 'apiserver-restart', 'check.down').some((a) => a.verified),
      { timeoutMs: 60_000 },
    );
    await stack.plane.startApiServer();
    // The watcher's watch resumes: a check created after the restart is mirrored and probed.
    await applyChecks(stack.plane, [checkManifest(NAMESPACE, 'after-apiserver', targets.get('after-apiserver')!.url('/after-apiserver'))]);
    expected.transition('after-apiserver', 'up');
    await expectConverged(stack, db, expected);
    await expectSameProcessesReady();
  });

  it('stop Postgres for 30 s, with a transition during the outage', async () => {
    await stack.postgres.stop();
    const outageStarted = Date.now();
    flipDown('postgres-outage');
    await sleep(30_000);
    const outageEnded = Date.now();
    await stack.postgres.restart();
    await expectConverged(stack, db, expected, 120_000);
    // The transition happened (and was timed) while Postgres was down, and was stored afterwards.
    const { rows } = await db.query<{ at: Date }>(`SELECT at FROM vigil.transitions WHERE namespace = $1 AND name = 'postgres-outage' AND to_state = 'down'`, [
      NAMESPACE,
    ]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.at.getTime()).toBeGreaterThan(outageStarted);
    expect(rows[0]!.at.getTime()).toBeLessThan(outageEnded);
    await expectSameProcessesReady();
  });

  it('stop the watcher while checks are created and deleted', async () => {
    await stack.kill('watcher-0', 'SIGTERM');
    await applyChecks(stack.plane, [checkManifest(NAMESPACE, 'watcher-created', targets.get('watcher-created')!.url('/watcher-created'))]);
    await applyChecks(stack.plane, [checkManifest(NAMESPACE, 'watcher-fleeting', targets.get('watcher-created')!.url('/watcher-fleeting'))]);
    for (const name of ['watcher-deleted', 'watcher-fleeting']) {
      const deleted = await stack.plane.kubectl(['delete', 'uptimecheck', '-n', NAMESPACE, name]);
      expect(deleted.code).toBe(0);
    }
    await sleep(3_000);
    await replaceCrashed('watcher-0');
    expected.transition('watcher-created', 'up');
    expected.deleted.add('watcher-deleted');
    await expectConverged(stack, db, expected);
    const { rows } = await db.query<{ name: string }>(`SELECT name FROM vigil.checks WHERE namespace = $1 ORDER BY name`, [NAMESPACE]);
    expect(rows.map((r) => r.name)).toEqual([...DRILLS, 'after-apiserver', 'watcher-created'].sort());
    await expectSameProcessesReady();
  });
});
