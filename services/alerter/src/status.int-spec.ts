import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { FIELD_MANAGERS, READY_CONDITION, STORED_CONDITION, STORED_REASONS } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { UPTIME_CHECK, loadUptimeCheckCrd, type UptimeCheck } from '@vigil/k8s';
import { ControlPlane, PostgresServer, waitFor, type ServiceProcess, type TestDatabase } from '@vigil/testing';
import { generateSecret } from '@vigil/webhooks';
import { migratedDatabase, startAlerter } from './testing/alerter.js';
import { deliveryOf, insertCheck, insertTransition, type TestCheck } from './testing/outbox.js';
import { createAlerterServiceAccount } from './testing/rbac.js';
import { startReceiver, writeReceiversFile, type TestReceiver } from './testing/receivers.js';

// Status and Events on a real API server with RBAC on: the alerter runs with
// its own ServiceAccount's token and exactly the rules the chart grants.
const SA_NAMESPACE = 'vigil';
const NS = 'default';
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    verbs: [patch]
    resources: [{group: vigil.dev, resources: [uptimechecks/status]}]
  - level: None
`;

let server: PostgresServer;
let plane: ControlPlane;
let db: TestDatabase;
let pool: Pool;
let workDir: string;
let auditLog: string;
let alerterKubeconfig: string;
let objects: CustomObjectsApi;
let alerter: ServiceProcess;
let ok: TestReceiver;
let failing: TestReceiver;
let baseEnv: Record<string, string>;

async function createCheckObject(name: string, url = `https://${name}.example.com/health`): Promise<TestCheck> {
  const created = (await objects.createNamespacedCustomObject({
    group: UPTIME_CHECK.group,
    version: UPTIME_CHECK.version,
    plural: UPTIME_CHECK.plural,
    namespace: NS,
    body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name }, spec: { url } },
  })) as UptimeCheck;
  // The watcher's row for it: same uid, generation and URL.
  return insertCheck(pool, { uid: created.metadata.uid!, namespace: NS, name, url, generation: created.metadata.generation!, state: 'pending' });
}

/** First-probe transitions of the backlog checks the alerter has not applied yet. */
async function pendingFirstResults(): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.transitions WHERE status_applied_at IS NULL AND name LIKE 'first-%'`);
  return rows[0]!.n;
}

async function readCheck(name: string): Promise<UptimeCheck> {
  return (await objects.getNamespacedCustomObject({ group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, namespace: NS, name })) as UptimeCheck;
}

async function eventsOf(name: string): Promise<Array<{ reason: string; type: string; count: number; message: string }>> {
  const core = plane.kubeConfig().makeApiClient(CoreV1Api);
  const list = await core.listNamespacedEvent({ namespace: NS, fieldSelector: `involvedObject.name=${name}` });
  return list.items.map((e) => ({ reason: e.reason!, type: e.type!, count: e.count!, message: e.message! }));
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'vigil-alerter-status-'));
  auditLog = join(workDir, 'audit.log');
  const policy = join(workDir, 'audit-policy.yaml');
  await writeFile(policy, AUDIT_POLICY);
  server = await PostgresServer.start();
  ({ db, pool } = await migratedDatabase(server));
  plane = await ControlPlane.start({ apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking'] });
  const kc = plane.kubeConfig();
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
  await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: SA_NAMESPACE } } });
  await createAlerterServiceAccount(kc, SA_NAMESPACE);
  alerterKubeconfig = await plane.writeTokenKubeconfig(await plane.tokenFor(SA_NAMESPACE, 'vigil-alerter'), 'alerter');
  objects = kc.makeApiClient(CustomObjectsApi);

  ok = await startReceiver();
  failing = await startReceiver({ respond: (_req, _i, res) => res.writeHead(500).end('nope') });
  const file = await writeReceiversFile(join(workDir, 'receivers'), [
    { name: 'ops', url: ok.url, secrets: [generateSecret()], namespaces: ['*'] },
    { name: 'broken', url: failing.url, secrets: [generateSecret()], namespaces: ['*'] },
  ]);
  baseEnv = {
    DATABASE_URL: db.url,
    KUBECONFIG: alerterKubeconfig,
    RECEIVERS_FILE: file,
    SSRF_ALLOW_CIDRS: '127.0.0.1/32',
    WEBHOOK_RETRY_SCHEDULE: '200ms,200ms',
    BACKSTOP_POLL_INTERVAL: '5s',
  };
  alerter = await startAlerter(baseEnv, { logDir: workDir });
});

afterAll(async () => {
  await alerter?.stop();
  await ok?.close();
  await failing?.close();
  await pool?.end();
  await plane?.stop();
  await server?.destroy();
});

describe('UptimeCheck status and Events', () => {
  it('shows a transition in the status and as an Event at once, and kubectl wait --for=condition=Ready returns on recovery', async () => {
    const check = await createCheckObject('shop');
    await waitFor('the pending status of a new check', async () => (await readCheck('shop')).status?.conditions?.[0]?.status === 'Unknown');
    expect((await readCheck('shop')).status).toMatchObject({ state: 'pending', observedGeneration: 1, conditions: [{ type: 'Ready', status: 'Unknown', reason: 'Pending' }] });

    const down = await insertTransition(pool, check, { from: 'pending', to: 'down', code: 503, reason: 'UnexpectedStatus', message: 'HTTP 503, expected 200-399', receivers: ['ops'] });
    await waitFor('the down status', async () => (await readCheck('shop')).status?.state === 'down');
    const status = (await readCheck('shop')).status!;
    expect(status).toMatchObject({ state: 'down', code: 503, latencyMs: 42, reason: 'UnexpectedStatus', message: 'HTTP 503, expected 200-399', observedGeneration: 1 });
    expect(status.since).toBe(down.payload!.timestamp.replace(/\.\d{3}Z$/, 'Z'));
    expect(status.conditions).toEqual([
      expect.objectContaining({ type: 'Ready', status: 'False', reason: 'UnexpectedStatus', lastTransitionTime: status.since }),
    ]);
    await waitFor('the Down event', async () => (await eventsOf('shop')).some((e) => e.reason === 'Down'));
    expect((await eventsOf('shop')).find((e) => e.reason === 'Down')).toEqual({
      reason: 'Down',
      type: 'Warning',
      count: 1,
      message: 'https://shop.example.com/health is down: UnexpectedStatus: HTTP 503, expected 200-399; was pending',
    });
    const { rows } = await pool.query<{ applied: boolean }>(`SELECT status_applied_at IS NOT NULL AS applied FROM vigil.transitions WHERE id = $1`, [down.id]);
    expect(rows[0]!.applied).toBe(true);
    await waitFor('lastDelivery', async () => (await readCheck('shop')).status?.lastDelivery?.outcome === 'delivered');
    expect((await readCheck('shop')).status!.lastDelivery).toMatchObject({ id: down.deliveryIds[0], event: 'check.down', outcome: 'delivered', attempts: 1 });

    // kubectl wait, started while the check is down, returns when it comes up.
    const waiting = plane.kubectl(['wait', '--for=condition=Ready', `uc/shop`, '-n', NS, '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 500));
    await insertTransition(pool, check, { from: 'down', to: 'up', code: 200, latencyMs: 87 });
    const result = await waiting;
    expect(result).toMatchObject({ code: 0, stdout: expect.stringContaining('condition met') });
    expect((await readCheck('shop')).status).toMatchObject({ state: 'up', code: 200, latencyMs: 87 });
    expect((await readCheck('shop')).status).not.toHaveProperty('reason');
    await waitFor('the Up event', async () => (await eventsOf('shop')).some((e) => e.reason === 'Up'));

    // A second outage bumps the Down event instead of adding one.
    await insertTransition(pool, check, { from: 'up', to: 'down' });
    await waitFor('the aggregated Down event', async () => (await eventsOf('shop')).find((e) => e.reason === 'Down')?.count === 2);
    const events = await eventsOf('shop');
    expect(events.filter((e) => e.reason === 'Down')).toHaveLength(1);
    const described = await plane.kubectl(['describe', 'uc', 'shop', '-n', NS]);
    expect(described.stdout).toMatch(/Warning\s+Down\s+.*\(x2 over .*\)\s+vigil-alerter\s+https:\/\/shop\.example\.com\/health is down: ConnectionRefused/);
    expect(described.stdout).toMatch(/Normal\s+Up\s+.*vigil-alerter\s+https:\/\/shop\.example\.com\/health is up \(HTTP 200 in 87 ms\), was down/);
  });

  it("keeps the watcher's Stored condition through its own writes, and its Ready condition survives the watcher's", async () => {
    const check = await createCheckObject('shared');
    // What the watcher applies (its own field manager) when Postgres refuses a check.
    const applyStored = (conditions: object[]) =>
      objects.patchNamespacedCustomObjectStatus(
        {
          group: UPTIME_CHECK.group,
          version: UPTIME_CHECK.version,
          plural: UPTIME_CHECK.plural,
          namespace: NS,
          name: 'shared',
          fieldManager: FIELD_MANAGERS.watcher,
          force: true,
          body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: 'shared', namespace: NS }, status: { conditions } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    const stored = { type: STORED_CONDITION, status: 'False', reason: STORED_REASONS.refused, message: 'Postgres refused this check', lastTransitionTime: '2026-12-05T08:00:00Z' };
    await applyStored([stored]);
    const types = async () => ((await readCheck('shared')).status?.conditions ?? []).map((c) => `${c.type}=${c.status}`).sort();
    await waitFor('the pending status', async () => (await types()).includes(`${READY_CONDITION}=Unknown`));
    expect(await types()).toEqual([`${READY_CONDITION}=Unknown`, `${STORED_CONDITION}=False`]);
    // A transition (status + Event) and a delivery report: the watcher's condition is untouched.
    await insertTransition(pool, check, { from: 'pending', to: 'down', code: 503, reason: 'UnexpectedStatus', message: 'HTTP 503', receivers: ['ops'] });
    await waitFor('lastDelivery', async () => (await readCheck('shared')).status?.lastDelivery?.outcome === 'delivered');
    const status = (await readCheck('shared')).status!;
    expect(status).toMatchObject({ state: 'down', reason: 'UnexpectedStatus' });
    expect(status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: READY_CONDITION, status: 'False' }), expect.objectContaining(stored)]),
    );
    // The watcher clears its condition: the alerter's Ready and result fields stay.
    await applyStored([]);
    expect(await types()).toEqual([`${READY_CONDITION}=False`]);
    expect((await readCheck('shared')).status).toMatchObject({ state: 'down', code: 503, reason: 'UnexpectedStatus', lastDelivery: { outcome: 'delivered' } });
    // And the alerter's next write (recovery) still leaves room for a watcher condition applied since.
    await applyStored([stored]);
    await insertTransition(pool, check, { from: 'down', to: 'up', code: 200 });
    await waitFor('the up status', async () => (await readCheck('shared')).status?.state === 'up');
    expect(await types()).toEqual([`${READY_CONDITION}=True`, `${STORED_CONDITION}=False`]);
    expect((await readCheck('shared')).status).not.toHaveProperty('reason');
  });

  it('records a WebhookFailed Event and the dead lastDelivery when a delivery finally fails', async () => {
    const check = await createCheckObject('billing');
    const down = await insertTransition(pool, check, { from: 'pending', to: 'down', receivers: ['broken'] });
    await waitFor('the delivery to die', async () => (await deliveryOf(pool, down.deliveryIds[0]!)).status === 'dead');
    await waitFor('the WebhookFailed event', async () => (await eventsOf('billing')).some((e) => e.reason === 'WebhookFailed'));
    expect((await eventsOf('billing')).find((e) => e.reason === 'WebhookFailed')).toEqual({
      reason: 'WebhookFailed',
      type: 'Warning',
      count: 1,
      message: `check.down webhook ${down.deliveryIds[0]} to receiver broken failed after 3 attempts: HTTP 500`,
    });
    await waitFor('lastDelivery dead', async () => (await readCheck('billing')).status?.lastDelivery?.outcome === 'dead');
    expect((await readCheck('billing')).status!.lastDelivery).toMatchObject({ id: down.deliveryIds[0], event: 'check.down', outcome: 'dead', attempts: 3 });
  });

  it('skips a check deleted meanwhile quietly and marks its transition applied', async () => {
    const check = await createCheckObject('ghost');
    await waitFor('the first status', async () => (await readCheck('ghost')).status?.state === 'pending');
    await objects.deleteNamespacedCustomObject({ group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, namespace: NS, name: 'ghost' });
    const t = await insertTransition(pool, check, { from: 'pending', to: 'down' });
    await waitFor('the transition to be applied', async () => {
      const { rows } = await pool.query<{ applied: boolean }>(`SELECT status_applied_at IS NOT NULL AS applied FROM vigil.transitions WHERE id = $1`, [t.id]);
      return rows[0]!.applied;
    });
    const metrics = await (await fetch(`${alerter.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_alerter_status_patches_total\{kind="transition",result="not_found",service="alerter"\} [1-9]/);
    expect((await alerter.logs()).filter((l) => l.level === 'error')).toEqual([]);
    expect(alerter.child.exitCode).toBeNull();
  });

  it('runs with a token that can neither read Secrets nor change a spec (403)', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(alerterKubeconfig);
    const status = async (call: Promise<unknown>) =>
      call.then(
        () => 200,
        (err: unknown) => (err instanceof ApiException ? err.code : -1),
      );
    expect(await status(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: NS }))).toBe(403);
    expect(await status(kc.makeApiClient(CoreV1Api).readNamespacedSecret({ namespace: SA_NAMESPACE, name: 'anything' }))).toBe(403);
    const asAlerter = kc.makeApiClient(CustomObjectsApi);
    const ref = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, namespace: NS, name: 'shop' };
    expect(await status(asAlerter.patchNamespacedCustomObject({ ...ref, body: { spec: { url: 'https://evil.example.com' } } }, MERGE_PATCH))).toBe(403);
    expect(await status(asAlerter.getNamespacedCustomObject(ref))).toBe(403);
    expect(await status(asAlerter.deleteNamespacedCustomObject(ref))).toBe(403);
    // What it may do: patch status.
    expect(await status(asAlerter.patchNamespacedCustomObjectStatus({ ...ref, body: { status: { message: null } } }, MERGE_PATCH))).toBe(200);
    expect((await readCheck('shop')).spec.url).toBe('https://shop.example.com/health');
  });
});

describe('the status patch budget', () => {
  it('holds 2,000 checks to STATUS_PATCH_QPS patches per second, counted in the API server audit log', async () => {
    await alerter.stop();
    const names = Array.from({ length: 2000 }, (_, i) => `load-${String(i).padStart(4, '0')}`);
    for (let i = 0; i < names.length; i += 50) await Promise.all(names.slice(i, i + 50).map((n) => createCheckObject(n)));

    const qps = 20;
    const auditBefore = (await readFile(auditLog, 'utf8')).split('\n').filter(Boolean).length;
    alerter = await startAlerter({ ...baseEnv, STATUS_PATCH_QPS: String(qps), STATUS_REFRESH_PERIOD: '1h' }, { logDir: workDir, instance: 'alerter-budget' });
    const patchedLoadChecks = async () =>
      (await readFile(auditLog, 'utf8'))
        .split('\n')
        .filter(Boolean)
        .slice(auditBefore)
        .map((l) => JSON.parse(l) as { user: { username: string }; objectRef: { name: string; subresource?: string }; verb: string; requestReceivedTimestamp: string; responseStatus: { code: number } })
        .filter((e) => e.verb === 'patch' && e.objectRef.subresource === 'status' && e.objectRef.name.startsWith('load-'));
    await waitFor('12 s worth of budgeted patches', async () => (await patchedLoadChecks()).length >= 240, { timeoutMs: 60_000, intervalMs: 1000 });
    const entries = await patchedLoadChecks();
    expect(new Set(entries.map((e) => e.user.username))).toEqual(new Set(['system:serviceaccount:vigil:vigil-alerter']));
    expect(entries.every((e) => e.responseStatus.code === 200)).toBe(true);

    const times = entries.map((e) => Date.parse(e.requestReceivedTimestamp)).sort((a, b) => a - b);
    const busiest = (from: number[], windowMs: number) => {
      let max = 0;
      for (let i = 0, j = 0; i < from.length; i++) {
        while (from[i]! - from[j]! >= windowMs) j++;
        max = Math.max(max, i - j + 1);
      }
      return max;
    };
    const spanSeconds = (times[times.length - 1]! - times[0]!) / 1000;
    const rate = (times.length - qps) / spanSeconds;
    const steady = times.filter((t) => t - times[0]! >= 2000);
    const observed = { patches: times.length, spanSeconds, rate, busiestSecond: busiest(times, 1000), busiestSteady5s: busiest(steady, 5000) };
    // Any second: at most the burst (qps) plus one second of refill; a little slack for arrival jitter at the API server.
    expect(observed.busiestSecond).toBeLessThanOrEqual(2 * qps + 2);
    // Once the burst is spent, any five seconds hold about five seconds of budget (10% slack for arrival jitter).
    expect(observed.busiestSteady5s).toBeLessThanOrEqual(5.5 * qps);
    // Over the run the rate is the budget: not above it, and, with work waiting, not far below.
    expect(rate).toBeLessThanOrEqual(qps * 1.1);
    expect(rate).toBeGreaterThan(qps * 0.6);
    process.stdout.write(`status patch budget observed: ${JSON.stringify(observed)}\n`);
    const metrics = await (await fetch(`${alerter.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_alerter_patch_budget_wait_seconds_count\{service="alerter"\} \d+/);
  });

  it('patches a check going down at once, ahead of a backlog of first results', async () => {
    await alerter.stop();
    const firsts: TestCheck[] = [];
    for (let i = 0; i < 200; i += 50) firsts.push(...(await Promise.all(Array.from({ length: 50 }, (_, j) => createCheckObject(`first-${String(i + j).padStart(3, '0')}`)))));
    for (const check of firsts) await insertTransition(pool, check, { from: 'pending', to: 'up' });
    const goingDown = await createCheckObject('failing-now');

    // 200 first results are 400 API calls: 80 s of a 5/s budget.
    alerter = await startAlerter({ ...baseEnv, STATUS_PATCH_QPS: '5', STATUS_REFRESH_PERIOD: '1h' }, { logDir: workDir, instance: 'alerter-backlog' });
    await waitFor('the first results to start draining', async () => (await pendingFirstResults()) < 200);
    await insertTransition(pool, goingDown, { from: 'pending', to: 'down' });
    await waitFor('the down status', async () => (await readCheck('failing-now')).status?.state === 'down', { timeoutMs: 20_000, intervalMs: 100 });
    // Oldest first, it would have waited for half of them at least.
    expect(await pendingFirstResults()).toBeGreaterThan(150);
    // Its Event follows the patch, behind at most the calls already queued.
    await waitFor('the Down Event', async () => (await eventsOf('failing-now')).length > 0, { timeoutMs: 20_000 });
    expect((await eventsOf('failing-now')).map((e) => e.reason)).toEqual(['Down']);
  });
});
