import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { Pool } from '@vigil/db';
import { PostgresServer, freePort, waitFor, type ServiceProcess, type TestDatabase } from '@vigil/testing';
import { generateSecret } from '@vigil/webhooks';
import { migratedDatabase, startAlerter, unreachableKubeconfig } from './testing/alerter.js';
import { attemptsOf, deliveryOf, insertCheck, insertTransition } from './testing/outbox.js';
import { ok, startReceiver, writeReceiversFile, type ReceiverConfig, type TestReceiver } from './testing/receivers.js';

// Webhooks only: the API server in the kubeconfig is unreachable, which the
// alerter must survive while it delivers.
let server: PostgresServer;
let workDir: string;
let kubeconfig: string;

interface Setup {
  pool: Pool;
  db: TestDatabase;
  receiversDir: string;
  alerters: ServiceProcess[];
}
let current: Setup | undefined;
let receivers: TestReceiver[] = [];

const FAST = { WEBHOOK_RETRY_SCHEDULE: '300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms', SSRF_ALLOW_CIDRS: '127.0.0.1/32' };

async function setup(receivers: ReceiverConfig[], env: Record<string, string> = {}): Promise<Setup & { env: Record<string, string> }> {
  const { db, pool } = await migratedDatabase(server);
  const receiversDir = await mkdtemp(join(workDir, 'receivers-'));
  const file = await writeReceiversFile(receiversDir, receivers);
  const fullEnv = { DATABASE_URL: db.url, KUBECONFIG: kubeconfig, RECEIVERS_FILE: file, BACKSTOP_POLL_INTERVAL: '30s', ...FAST, ...env };
  current = { pool, db, receiversDir, alerters: [] };
  current.alerters.push(await startAlerter(fullEnv, { logDir: workDir, instance: `alerter-${Math.random().toString(36).slice(2, 7)}` }));
  return { ...current, env: fullEnv };
}

/** Receivers are closed after each test. */
function track(receiver: TestReceiver): TestReceiver {
  receivers.push(receiver);
  return receiver;
}

beforeAll(async () => {
  server = await PostgresServer.start();
  workDir = await mkdtemp(join(tmpdir(), 'vigil-alerter-delivery-'));
  kubeconfig = await unreachableKubeconfig(workDir);
});

afterEach(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  receivers = [];
  if (!current) return;
  await Promise.all(current.alerters.map((a) => a.stop('SIGTERM', 15_000)));
  await current.pool.end();
  await current.db.drop();
  current = undefined;
});

afterAll(async () => {
  await server?.destroy();
});

const delivered = (pool: Pool, id: string) => async () => (await deliveryOf(pool, id)).status === 'delivered';

describe('webhook delivery', () => {
  it('signs with every active secret so the reference library verifies it; a tampered body or an old timestamp fails', async () => {
    const receiver = track(await startReceiver());
    const [newSecret, oldSecret] = [generateSecret(), generateSecret()];
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [newSecret, oldSecret], namespaces: ['*'] }]);
    const check = await insertCheck(pool, { name: 'shop' });
    const { deliveryIds, payload } = await insertTransition(pool, check, { from: 'up', to: 'down', receivers: ['ops'] });

    await waitFor('the webhook', delivered(pool, deliveryIds[0]!));
    expect(receiver.requests).toHaveLength(1);
    const { headers, body } = receiver.requests[0]!;
    const h = { 'webhook-id': String(headers['webhook-id']), 'webhook-timestamp': String(headers['webhook-timestamp']), 'webhook-signature': String(headers['webhook-signature']) };
    expect(h['webhook-id']).toBe(deliveryIds[0]);
    expect(headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toEqual(payload);
    for (const secret of [newSecret, oldSecret]) expect(new Webhook(secret).verify(body, h)).toEqual(payload);
    expect(() => new Webhook(generateSecret()).verify(body, h)).toThrow();
    expect(() => new Webhook(newSecret).verify(body.replace('"down"', '"up"'), h)).toThrow(/signature/i);
    // The same signature bytes, presented six minutes later, are refused as a replay.
    const replayed = { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) - 360) };
    expect(() => new Webhook(newSecret).verify(body, replayed)).toThrow(/timestamp/i);

    const attempts = await attemptsOf(pool, deliveryIds[0]!);
    expect(attempts).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, error: null, response_excerpt: 'ok' })]);
  });

  it('delivers to a receiver that was down once it comes up, logging every attempt', async () => {
    const port = await freePort();
    const { pool } = await setup([{ name: 'flaky', url: `http://127.0.0.1:${port}/hook`, secrets: [generateSecret()], namespaces: ['*'] }]);
    const check = await insertCheck(pool, { name: 'api' });
    const { deliveryIds } = await insertTransition(pool, check, { from: 'up', to: 'down', receivers: ['flaky'] });
    const id = deliveryIds[0]!;
    await waitFor('two refused attempts', async () => (await attemptsOf(pool, id)).length >= 2);

    const receiver = track(await startReceiver({ port }));
    await waitFor('the webhook after recovery', delivered(pool, id), { timeoutMs: 20_000 });
    const attempts = await attemptsOf(pool, id);
    const last = attempts[attempts.length - 1]!;
    expect(attempts.slice(0, -1).every((a) => a.status_code === null && a.error!.startsWith('ConnectionRefused'))).toBe(true);
    expect(last).toMatchObject({ status_code: 200, error: null, attempt: attempts.length });
    expect(attempts.map((a) => a.attempt)).toEqual(attempts.map((_, i) => i + 1));
    expect(await deliveryOf(pool, id)).toMatchObject({ status: 'delivered', attempts: attempts.length, last_status_code: 200, locked_by: null });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id]);
  });

  it('retries a 500 and succeeds on the following 200, with the same webhook-id and the response excerpts logged', async () => {
    const receiver = track(
      await startReceiver({
        respond: (_req, i, res) => (i < 2 ? res.writeHead(500).end(`broken ${i} ${'x'.repeat(2000)}`) : res.writeHead(204).end()),
      }),
    );
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }]);
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web', state: 'down' }), { from: 'down', to: 'up', receivers: ['ops'] });
    const id = deliveryIds[0]!;
    await waitFor('the webhook', delivered(pool, id), { timeoutMs: 20_000 });

    const attempts = await attemptsOf(pool, id);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, 500, 'HTTP 500'],
      [3, 204, null],
    ]);
    // The first KiB of the body, no more.
    expect(attempts[0]!.response_excerpt).toHaveLength(1024);
    expect(attempts[0]!.response_excerpt!.startsWith('broken 0 xxx')).toBe(true);
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([id]));
    expect(new Set(receiver.requests.map((r) => r.body)).size).toBe(1);
  });

  it('waits as long as a 429 Retry-After says, not the shorter schedule', async () => {
    const receiver = track(
      await startReceiver({
        respond: (_req, i, res) => (i === 0 ? res.writeHead(429, { 'retry-after': '2' }).end('slow down') : ok(_req, i, res)),
      }),
    );
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms' });
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['ops'] });
    await waitFor('the webhook', delivered(pool, deliveryIds[0]!), { timeoutMs: 20_000 });

    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.at - receiver.requests[0]!.at).toBeGreaterThanOrEqual(1_950);
    expect((await attemptsOf(pool, deliveryIds[0]!)).map((a) => a.status_code)).toEqual([429, 200]);
  });

  it('times out a receiver that never answers while other receivers get their webhooks', async () => {
    const silent = track(await startReceiver({ respond: () => undefined }));
    const fast = track(await startReceiver());
    const { pool } = await setup(
      [
        { name: 'silent', url: silent.url, secrets: [generateSecret()], namespaces: ['*'] },
        { name: 'fast', url: fast.url, secrets: [generateSecret()], namespaces: ['*'] },
      ],
      { WEBHOOK_TIMEOUT: '3s', WEBHOOK_RECEIVER_CONCURRENCY: '2' },
    );
    const check = await insertCheck(pool, { name: 'web' });
    const ids: string[][] = [];
    for (let i = 0; i < 6; i++) ids.push((await insertTransition(pool, check, { from: i % 2 ? 'down' : 'up', to: i % 2 ? 'up' : 'down', receivers: ['silent', 'fast'] })).deliveryIds);

    await waitFor('every webhook to the fast receiver', async () => fast.requests.length === 6, { timeoutMs: 20_000 });
    // All six went out while the silent receiver's first attempts were still waiting for an answer.
    const firstSilentAttempts = await attemptsOf(pool, ids[0]![0]!);
    expect(firstSilentAttempts).toEqual([]);
    await waitFor('the silent receiver to time out', async () => (await attemptsOf(pool, ids[0]![0]!)).length >= 1, { timeoutMs: 20_000 });
    const timedOut = (await attemptsOf(pool, ids[0]![0]!))[0]!;
    expect(timedOut.error).toBe('Timeout: no response within 3000 ms');
    expect(timedOut.status_code).toBeNull();
    expect(timedOut.duration_ms).toBeGreaterThanOrEqual(2_900);
    for (const [, fastId] of ids) expect((await deliveryOf(pool, fastId!)).status).toBe('delivered');
  });

  it('gives up after the last scheduled retry: the delivery is dead', async () => {
    const receiver = track(await startReceiver({ respond: (_req, _i, res) => res.writeHead(503).end('down for maintenance') }));
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_RETRY_SCHEDULE: '200ms,200ms' });
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['ops'] });
    await waitFor('the delivery to die', async () => (await deliveryOf(pool, deliveryIds[0]!)).status === 'dead', { timeoutMs: 20_000 });
    expect((await attemptsOf(pool, deliveryIds[0]!)).map((a) => a.status_code)).toEqual([503, 503, 503]);
    expect(receiver.requests).toHaveLength(3);
  });

  it('disables a receiver that answers 410 Gone, with its waiting deliveries', async () => {
    const receiver = track(await startReceiver({ respond: (_req, _i, res) => res.writeHead(410).end('gone') }));
    const { pool } = await setup([{ name: 'retired', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_RECEIVER_CONCURRENCY: '1', BACKSTOP_POLL_INTERVAL: '1s' });
    const check = await insertCheck(pool, { name: 'web' });
    const first = await insertTransition(pool, check, { from: 'up', to: 'down', receivers: ['retired'] });
    await waitFor('the 410', async () => (await deliveryOf(pool, first.deliveryIds[0]!)).status === 'disabled');
    const { rows } = await pool.query<{ enabled: boolean; disabled_reason: string }>(`SELECT enabled, disabled_reason FROM vigil.webhook_receivers WHERE name = 'retired'`);
    expect(rows[0]!.enabled).toBe(false);
    expect(rows[0]!.disabled_reason).toMatch(/^answered 410 Gone at /);
    // A delivery written before the prober saw the receiver disabled is never sent.
    const second = await insertTransition(pool, check, { from: 'down', to: 'up', receivers: ['retired'] });
    await waitFor('the late delivery to be disabled', async () => (await deliveryOf(pool, second.deliveryIds[0]!)).status === 'disabled');
    expect(receiver.requests).toHaveLength(1);
  });

  it('does not follow redirects: a 3xx is a failed attempt', async () => {
    const target = track(await startReceiver());
    const receiver = track(await startReceiver({ respond: (_req, _i, res) => res.writeHead(302, { location: target.url }).end() }));
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_RETRY_SCHEDULE: '200ms' });
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['ops'] });
    await waitFor('the delivery to die', async () => (await deliveryOf(pool, deliveryIds[0]!)).status === 'dead');
    const attempts = await attemptsOf(pool, deliveryIds[0]!);
    expect(attempts.map((a) => a.error)).toEqual([`Redirect: HTTP 302 to ${target.url} (redirects are not followed)`, `Redirect: HTTP 302 to ${target.url} (redirects are not followed)`]);
    expect(target.requests).toHaveLength(0);
  });

  it('refuses a receiver on a denied address without connecting, and logs the attempt as Blocked', async () => {
    // 127.0.0.2 is loopback, denied by default; only 127.0.0.1/32 is allowed here.
    const forbidden = track(await startReceiver({ host: '127.0.0.2' }));
    const { pool } = await setup([{ name: 'sneaky', url: forbidden.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_RETRY_SCHEDULE: '200ms' });
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['sneaky'] });
    await waitFor('the delivery to die', async () => (await deliveryOf(pool, deliveryIds[0]!)).status === 'dead');
    const attempts = await attemptsOf(pool, deliveryIds[0]!);
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(a.error).toBe('Blocked: 127.0.0.2 is a blocked address (SSRF guard)');
    expect(forbidden.connections).toBe(0);
  });
});

describe('at-least-once across alerters', () => {
  it('re-delivers with the same webhook-id after the alerter is SIGKILLed between claim and outcome', async () => {
    let holdFirst = true;
    const receiver = track(
      await startReceiver({
        respond: (req, i, res) => {
          // The first request is left hanging: its alerter dies before any answer.
          if (i === 0 && holdFirst) return;
          ok(req, i, res);
        },
      }),
    );
    const { pool, env } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }], { WEBHOOK_TIMEOUT: '2s' });
    const first = current!.alerters[0]!;
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['ops'] });
    const id = deliveryIds[0]!;
    await waitFor('the first request', () => receiver.requests.length === 1);
    expect(await deliveryOf(pool, id)).toMatchObject({ status: 'pending', attempts: 1, locked_by: expect.stringMatching(/^alerter-/) });
    await first.stop('SIGKILL');
    holdFirst = false;

    current!.alerters.push(await startAlerter(env, { logDir: workDir, instance: 'alerter-successor' }));
    // The lease (timeout 2 s + 10 s margin) must run out before the successor may retry.
    await waitFor('the retry by the successor', delivered(pool, id), { timeoutMs: 40_000 });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([id, id]);
    expect(receiver.requests[0]!.body).toBe(receiver.requests[1]!.body);
    const attempts = await attemptsOf(pool, id);
    expect(attempts.map((a) => [a.attempt, a.status_code, a.alerter])).toEqual([
      [1, null, expect.stringMatching(/^alerter-/)],
      [2, 200, 'alerter-successor'],
    ]);
    expect(attempts[0]!.error).toMatch(/^LeaseExpired: alerter-\w+ claimed this attempt and stopped before recording its outcome$/);
  });

  it('finishes an in-flight attempt on SIGTERM before exiting', async () => {
    const receiver = track(await startReceiver({ respond: (req, i, res) => setTimeout(() => ok(req, i, res), 1_500) }));
    const { pool } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }]);
    const alerter = current!.alerters[0]!;
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['ops'] });
    await waitFor('the request to arrive', () => receiver.requests.length === 1);
    expect(await alerter.stop('SIGTERM', 15_000)).toBe(0);
    expect(await deliveryOf(pool, deliveryIds[0]!)).toMatchObject({ status: 'delivered', attempts: 1, locked_by: null });
    expect((await attemptsOf(pool, deliveryIds[0]!)).map((a) => a.status_code)).toEqual([200]);
  });

  it('sends each delivery once with two alerters running', async () => {
    const receiver = track(await startReceiver());
    const { pool, env } = await setup([{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }]);
    current!.alerters.push(await startAlerter(env, { logDir: workDir, instance: 'alerter-second' }));
    const check = await insertCheck(pool, { name: 'web' });
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) ids.push(...(await insertTransition(pool, check, { from: i % 2 ? 'down' : 'up', to: i % 2 ? 'up' : 'down', receivers: ['ops'] })).deliveryIds);
    await waitFor('every delivery', async () => {
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.webhook_deliveries WHERE status = 'delivered'`);
      return rows[0]!.n === 60;
    });
    const received = receiver.requests.map((r) => String(r.headers['webhook-id']));
    expect(received.sort()).toEqual([...ids].sort());
    const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.webhook_attempts`);
    expect(rows[0]!.n).toBe(60);
  });
});

describe('wake-ups', () => {
  it('catches up on start, and after a Postgres restart reconnects LISTEN and reacts to the next NOTIFY at once', async () => {
    const receiver = track(await startReceiver());
    // Poll backstop far away: only notifications and catch-ups can explain timely deliveries.
    const { db, pool } = await migratedDatabase(server);
    const receiversDir = await mkdtemp(join(workDir, 'receivers-'));
    const file = await writeReceiversFile(receiversDir, [{ name: 'ops', url: receiver.url, secrets: [generateSecret()], namespaces: ['*'] }]);
    current = { pool, db, receiversDir, alerters: [] };
    const check = await insertCheck(pool, { name: 'web' });
    // The receiver row normally comes from the alerter; the prober fans out from it regardless of who is running.
    const early = await insertTransition(pool, check, { from: 'up', to: 'down', receivers: ['ops'] });

    const env = { DATABASE_URL: db.url, KUBECONFIG: kubeconfig, RECEIVERS_FILE: file, ...FAST, BACKSTOP_POLL_INTERVAL: '10m' };
    current.alerters.push(await startAlerter(env, { logDir: workDir, instance: 'alerter-catchup' }));
    await waitFor('the delivery written before start', delivered(pool, early.deliveryIds[0]!), { timeoutMs: 10_000 });

    await server.stop();
    await new Promise((r) => setTimeout(r, 1_000));
    await server.restart();
    const alerter = current.alerters[0]!;
    await waitFor('LISTEN to reconnect', async () => (await alerter.logs()).filter((l) => l.msg === 'listening').length >= 2, { timeoutMs: 30_000 });
    const late = await insertTransition(pool, check, { from: 'down', to: 'up', receivers: ['ops'] });
    await waitFor('the delivery after the restart', delivered(pool, late.deliveryIds[0]!), { timeoutMs: 10_000 });
    expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([early.deliveryIds[0], late.deliveryIds[0]]);
  });
});

describe('start-up', () => {
  it('exits 1 listing every bad variable, and listing every problem of an invalid receivers file', async () => {
    const badEnv = await startAlerter(
      {
        DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
        KUBECONFIG: kubeconfig,
        WEBHOOK_RETRY_SCHEDULE: 'soon',
        STATUS_PATCH_QPS: '0',
        SSRF_GUARD: 'maybe',
        SSRF_ALLOW_CIDRS: '127.0.0.1/33',
      },
      { logDir: workDir, instance: 'alerter-bad-env', waitReady: false },
    );
    expect(await badEnv.exited).toBe(1);
    const logs = await badEnv.logs();
    const envReport = logs.find((l) => l.msg === 'invalid configuration') as { problems: string[] };
    expect(envReport.problems).toEqual([
      'WEBHOOK_RETRY_SCHEDULE="soon" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "soon"',
      'STATUS_PATCH_QPS="0" is invalid: must be at least 1',
      'SSRF_GUARD="maybe" is invalid: expected true or false',
      'SSRF_ALLOW_CIDRS="127.0.0.1/33" is invalid: not a CIDR: 127.0.0.1/33',
    ]);
    // The report is the one fatal line: a bad CIDR no longer crashes the policy constructor with a stack trace.
    expect(logs.filter((l) => l.level === 'fatal')).toEqual([envReport]);

    const dir = await mkdtemp(join(workDir, 'receivers-'));
    const file = await writeReceiversFile(dir, [{ name: 'ops', url: 'ftp://example.com', secrets: ['whsec_short'], namespaces: [] }]);
    const badFile = await startAlerter(
      { DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', KUBECONFIG: kubeconfig, RECEIVERS_FILE: file },
      { logDir: workDir, instance: 'alerter-bad-file', waitReady: false },
    );
    expect(await badFile.exited).toBe(1);
    const fatal = (await badFile.logs()).find((l) => l.level === 'fatal' && typeof l.msg === 'string' && l.msg.startsWith('invalid receivers file'));
    expect(fatal?.msg).toBe(
      'invalid receivers file:\n  - receivers[0].url must be an absolute http:// or https:// URL\n  - receivers[0].secrets[0]: a webhook secret must be whsec_ followed by standard base64\n' +
        '  - receivers[0].namespaces must not be empty (an empty list does not mean every namespace): list the namespaces whose checks it hears about, or ["*"] for every namespace',
    );
  });
});

describe('receivers file', () => {
  it('routes by namespace as the prober does: ["team-a"] hears nothing from team-b, ["*"] hears every namespace', async () => {
    const teamA = track(await startReceiver());
    const everyone = track(await startReceiver());
    const { pool } = await setup([
      { name: 'team-a-only', url: teamA.url, secrets: [generateSecret()], namespaces: ['team-a'] },
      { name: 'everyone', url: everyone.url, secrets: [generateSecret()], namespaces: ['*'] },
    ]);
    await waitFor('both receivers stored', async () => (await pool.query(`SELECT 1 FROM vigil.webhook_receivers`)).rowCount === 2);
    const inA = await insertCheck(pool, { name: 'web', namespace: 'team-a' });
    const inB = await insertCheck(pool, { name: 'web', namespace: 'team-b' });
    // Fanned out by vigil.matching_receivers from the rows the alerter mirrored, as the prober's transitions are.
    const fromA = await insertTransition(pool, inA, { from: 'up', to: 'down', receivers: 'matching' });
    const fromB = await insertTransition(pool, inB, { from: 'up', to: 'down', receivers: 'matching' });
    expect(Object.keys(fromA.deliveries).sort()).toEqual(['everyone', 'team-a-only']);
    expect(Object.keys(fromB.deliveries)).toEqual(['everyone']);
    for (const id of [...Object.values(fromA.deliveries), ...Object.values(fromB.deliveries)]) await waitFor(`delivery ${id}`, delivered(pool, id), { timeoutMs: 15_000 });
    const namespacesHeard = (r: TestReceiver) => r.requests.map((q) => (JSON.parse(q.body) as { data: { check: { namespace: string } } }).data.check.namespace).sort();
    expect(namespacesHeard(teamA)).toEqual(['team-a']);
    expect(namespacesHeard(everyone)).toEqual(['team-a', 'team-b']);
  });

  it('mirrors receivers into Postgres without secrets, follows Secret-style updates, and never logs or exports a secret', async () => {
    const secret = generateSecret();
    const receiver = track(await startReceiver());
    const { pool, receiversDir } = await setup([
      { name: 'ops', url: `${receiver.url}?token=hunter2`, secrets: [secret], namespaces: ['prod'], matchLabels: { team: 'payments' }, events: ['check.down'] },
    ]);
    const rows = async () =>
      (await pool.query(`SELECT name, url, namespaces, match_labels, events, enabled FROM vigil.webhook_receivers ORDER BY name`)).rows;
    expect(await rows()).toEqual([
      { name: 'ops', url: `${receiver.url}?redacted`, namespaces: ['prod'], match_labels: { team: 'payments' }, events: ['check.down'], enabled: true },
    ]);

    const other = generateSecret();
    await writeReceiversFile(receiversDir, [{ name: 'audit', url: receiver.url, secrets: [other], namespaces: ['*'] }]);
    await waitFor('the new receivers', async () => JSON.stringify((await rows()).map((r) => r.name)) === '["audit"]', { timeoutMs: 15_000 });
    // ["*"] is stored as the table's "every namespace" (vigil.matching_receivers: an empty array).
    expect((await rows())[0]).toEqual({ name: 'audit', url: receiver.url, namespaces: [], match_labels: {}, events: ['check.down', 'check.up'], enabled: true });

    // A broken file keeps the last good configuration.
    const broken = join(receiversDir, 'receivers.json');
    await writeReceiversFile(receiversDir, [{ name: 'Not A Name', url: 'ftp://x', secrets: ['nope'], namespaces: ['*'] }]);
    await waitFor('the broken file to be reported', async () => (await current!.alerters[0]!.logs()).some((l) => l.msg === 'receivers file is invalid; keeping the last good configuration'));
    expect(JSON.parse(await readFile(broken, 'utf8')).receivers[0].name).toBe('Not A Name');
    const { deliveryIds } = await insertTransition(pool, await insertCheck(pool, { name: 'web' }), { from: 'up', to: 'down', receivers: ['audit'] });
    await waitFor('a delivery with the kept configuration', delivered(pool, deliveryIds[0]!));

    const alerter = current!.alerters[0]!;
    const metrics = await (await fetch(`${alerter.opsUrl}/metrics`)).text();
    const logText = (await alerter.logTail(100_000)) + metrics;
    const dump = JSON.stringify((await pool.query(`SELECT * FROM vigil.webhook_receivers`)).rows) + JSON.stringify((await pool.query(`SELECT * FROM vigil.webhook_deliveries`)).rows) + JSON.stringify((await pool.query(`SELECT * FROM vigil.webhook_attempts`)).rows);
    for (const s of [secret, other]) {
      const key = s.slice('whsec_'.length);
      expect(logText).not.toContain(key);
      expect(dump).not.toContain(key);
    }
    expect(logText).not.toContain('hunter2');
    expect(dump).not.toContain('hunter2');
    expect(metrics).toContain('vigil_alerter_deliveries_total{receiver="audit",outcome="delivered",service="alerter"} 1');
  });
});
