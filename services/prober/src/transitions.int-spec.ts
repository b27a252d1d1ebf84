import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { CHANNELS } from '@vigil/contracts';
import { DOWN, HttpTarget, UP, freePort, waitFor, type ServiceProcess } from '@vigil/testing';
import {
  addReceiver,
  checkRow,
  editCheck,
  retireCheck,
  insertCheck,
  resultsFor,
  startDatabase,
  startProber,
  transitionsFor,
  type TestDb,
} from './testing/fixtures.js';

// Two prober processes against a real Postgres and real HTTP targets on
// loopback; checks rows are inserted as the watcher would insert them.
let t: TestDb;
let target: HttpTarget;
let probers: ServiceProcess[] = [];
const targets: HttpTarget[] = [];
let listener: pg.Client;
const transitionNotifications: string[] = [];

beforeAll(async () => {
  t = await startDatabase();
  target = await newTarget();
  await addReceiver(t.pool, 'all');
  await addReceiver(t.pool, 'team-a-only', { namespaces: ['team-a'] });
  await addReceiver(t.pool, 'critical-only', { matchLabels: { tier: 'critical' } });
  await addReceiver(t.pool, 'downs-only', { events: ['check.down'] });
  await addReceiver(t.pool, 'gone', { enabled: false });
  listener = new pg.Client({ connectionString: t.db.url });
  await listener.connect();
  await listener.query(`LISTEN ${CHANNELS.transitions}`);
  listener.on('notification', (n) => transitionNotifications.push(n.payload ?? ''));
  probers = await Promise.all([startProber(t.db.url, 'prober-a'), startProber(t.db.url, 'prober-b')]);
});

afterAll(async () => {
  await Promise.all(probers.map((p) => p.stop()));
  await listener?.end();
  await t?.pool.end();
  await Promise.all(targets.map((x) => x.stop()));
  await t?.server.destroy();
});

async function newTarget(): Promise<HttpTarget> {
  const created = await HttpTarget.start({ behaviour: UP });
  targets.push(created);
  return created;
}

interface DeliveryRow {
  id: string;
  transition_id: number;
  receiver: string;
  event_type: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> & { check: Record<string, string> } };
}

async function deliveries(transitionId: number): Promise<DeliveryRow[]> {
  const { rows } = await t.pool.query<DeliveryRow>(`SELECT * FROM vigil.webhook_deliveries WHERE transition_id = $1 ORDER BY receiver`, [transitionId]);
  return rows;
}

async function waitForTransitions(uid: string, expected: string[], timeoutMs = 30_000) {
  await waitFor(`transitions ${expected.join(', ')}`, async () => (await transitionsFor(t.pool, uid)).length >= expected.length, { timeoutMs, intervalMs: 200 });
  const rows = await transitionsFor(t.pool, uid);
  expect(rows.map((r) => `${r.from_state}→${r.to_state}`)).toEqual(expected);
  return rows;
}

describe('transitions and the outbox', () => {
  it('up → down → up writes the state, a transition and one delivery per matching receiver, and notifies', async () => {
    const local = await newTarget();
    const uid = await insertCheck(t.pool, { namespace: 'team-a', name: 'shop', labels: { tier: 'critical' }, url: local.url('/health') });

    const [first] = await waitForTransitions(uid, ['pending→up']);
    expect((await deliveries(first!.id)).map((d) => d.receiver)).toEqual(['all', 'critical-only', 'team-a-only']);

    local.set(DOWN);
    const [, down] = await waitForTransitions(uid, ['pending→up', 'up→down']);
    expect(down).toMatchObject({ code: 503, reason: 'UnexpectedStatus' });
    const downDeliveries = await deliveries(down!.id);
    expect(downDeliveries.map((d) => d.receiver)).toEqual(['all', 'critical-only', 'downs-only', 'team-a-only']);
    const delivery = downDeliveries[0]!;
    expect(delivery.id).toMatch(/^msg_[0-9a-f]{32}$/);
    expect(new Set(downDeliveries.map((d) => d.id)).size).toBe(4);
    expect(delivery.event_type).toBe('check.down');
    expect(delivery.payload).toEqual({
      type: 'check.down',
      timestamp: down!.at.toISOString(),
      data: {
        check: { namespace: 'team-a', name: 'shop', uid, url: local.url('/health') },
        from: 'up',
        to: 'down',
        since: down!.at.toISOString(),
        code: 503,
        latencyMs: expect.any(Number),
        reason: 'UnexpectedStatus',
        message: 'status 503 is not in 200-399',
      },
    });
    expect(await checkRow(t.pool, uid)).toMatchObject({ state: 'down', last_reason: 'UnexpectedStatus', last_code: 503 });

    local.set(UP);
    const rows = await waitForTransitions(uid, ['pending→up', 'up→down', 'down→up']);
    expect((await deliveries(rows[2]!.id)).map((d) => d.event_type)).toEqual(['check.up', 'check.up', 'check.up']);
    const row = await checkRow(t.pool, uid);
    expect(row).toMatchObject({ state: 'up', last_reason: null, last_code: 200 });
    expect((row.state_since as Date).toISOString()).toBe(rows[2]!.at.toISOString());
    await waitFor('a NOTIFY per transition', () => rows.every((r) => transitionNotifications.includes(String(r.id))));
  });

  it('a single failed probe below failureThreshold changes nothing', async () => {
    const local = await newTarget();
    const uid = await insertCheck(t.pool, { url: local.url('/'), failureThreshold: 2 });
    await waitForTransitions(uid, ['pending→up']);

    local.set(DOWN);
    const seen = local.requests.length;
    await waitFor('the blip to be probed', () => local.requests.length > seen, { timeoutMs: 15_000, intervalMs: 20 });
    local.set(UP);
    await waitFor('two more probes after the blip', async () => {
      const results = await resultsFor(t.pool, uid);
      const blip = results.findIndex((r) => !r.ok);
      return blip !== -1 && results.length >= blip + 3;
    }, { timeoutMs: 30_000, intervalMs: 200 });

    const results = await resultsFor(t.pool, uid);
    expect(results.filter((r) => !r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ code: 503, reason: 'UnexpectedStatus' });
    expect((await transitionsFor(t.pool, uid)).map((r) => r.to_state)).toEqual(['up']);
    expect(await checkRow(t.pool, uid)).toMatchObject({ state: 'up', consecutive_failures: 0 });
  });

  it('editing a broken URL into a working one fires check.up', async () => {
    const closedPort = await freePort();
    const uid = await insertCheck(t.pool, { name: 'typo', url: `http://127.0.0.1:${closedPort}/` });
    const [down] = await waitForTransitions(uid, ['pending→down']);
    expect(down).toMatchObject({ reason: 'ConnectionRefused', code: 0 });

    const editedAt = Date.now();
    await editCheck(t.pool, uid, { url: target.url('/fixed') });
    const rows = await waitForTransitions(uid, ['pending→down', 'down→up']);
    // Woken by vigil_checks and due at once: well within one 5 s interval.
    expect(rows[1]!.at.getTime() - editedAt).toBeLessThan(3_000);
    const upDeliveries = await deliveries(rows[1]!.id);
    expect(upDeliveries.map((d) => [d.receiver, d.event_type])).toEqual([['all', 'check.up']]);
    expect(upDeliveries[0]!.payload.data).toMatchObject({ from: 'down', to: 'up', code: 200, check: { url: target.url('/fixed') } });
  });

  it('a new check is probed within about a second; a deleted one is not probed again', async () => {
    const local = await newTarget();
    const insertedAt = Date.now();
    const uid = await insertCheck(t.pool, { url: local.url('/new') });
    await waitFor('the first probe', () => local.requests.length > 0, { timeoutMs: 10_000, intervalMs: 20 });
    expect(local.requests[0]!.at - insertedAt).toBeLessThan(1_500);

    await retireCheck(t.pool, uid);
    const afterDelete = local.requests.length;
    await new Promise((r) => setTimeout(r, 7_000));
    // At most one probe already in flight when the row went.
    expect(local.requests.length - afterDelete).toBeLessThanOrEqual(1);
  });

  it('a paused check is not probed, is in state paused without a webhook, and resumes when unpaused', async () => {
    const local = await newTarget();
    const uid = await insertCheck(t.pool, { url: local.url('/p') });
    await waitForTransitions(uid, ['pending→up']);

    await editCheck(t.pool, uid, { paused: true });
    const [, paused] = await waitForTransitions(uid, ['pending→up', 'up→paused']);
    expect(await deliveries(paused!.id)).toEqual([]);
    expect(await checkRow(t.pool, uid)).toMatchObject({ state: 'paused', lease_owner: null });
    const whilePaused = local.requests.length;
    await new Promise((r) => setTimeout(r, 7_000));
    expect(local.requests.length - whilePaused).toBeLessThanOrEqual(1);

    await editCheck(t.pool, uid, { paused: false });
    const rows = await waitForTransitions(uid, ['pending→up', 'up→paused', 'paused→up']);
    expect((await deliveries(rows[2]!.id)).map((d) => d.event_type)).toContain('check.up');
  });

  it('both probers stayed healthy and shared the work', async () => {
    for (const p of probers) expect((await fetch(`${p.opsUrl}/healthz`)).status).toBe(200);
    const { rows } = await t.pool.query<{ prober: string }>(`SELECT DISTINCT prober FROM vigil.probe_results ORDER BY prober`);
    expect(rows.map((r) => r.prober)).toEqual(['prober-a', 'prober-b']);
  });
});
