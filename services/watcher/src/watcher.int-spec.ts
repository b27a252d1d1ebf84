import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import {
  ApiException,
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type V1PolicyRule,
} from '@kubernetes/client-node';
import { CHANNELS, FIELD_MANAGERS, READY_CONDITION, STORED_CONDITION, STORED_REASONS } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import { UPTIME_CHECK, loadUptimeCheckCrd, type UptimeCheck, type UptimeCheckSpec } from '@vigil/k8s';
import { ControlPlane, PostgresServer, freePort, startControlPlaneAndPostgres, startService, waitFor, waitForReady, type ServiceProcess } from '@vigil/testing';

// Every scenario runs the built service (dist/main.js) as a process, with the
// ServiceAccount token and RBAC rules the Helm chart gives it, against a real
// kube-apiserver (+ controller manager) and a real Postgres.

const SYSTEM_NAMESPACE = 'vigil-system';
const SERVICE_ACCOUNT = 'vigil-watcher';
/** The watcher's least privilege, as docs/contracts.md (Service permissions) lists it. */
const CLUSTER_RULES: V1PolicyRule[] = [
  { apiGroups: [UPTIME_CHECK.group], resources: [UPTIME_CHECK.plural], verbs: ['list', 'watch'] },
  { apiGroups: [UPTIME_CHECK.group], resources: [`${UPTIME_CHECK.plural}/status`], verbs: ['patch'] },
  { apiGroups: [''], resources: ['events'], verbs: ['create'] },
];
const LEASE_RULES: V1PolicyRule[] = [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }];
// Short lease timings keep the takeover scenarios quick; the defaults are 15s/10s/2s.
const FAST_LEASE = { LEASE_DURATION: '8s', LEASE_RENEW_DEADLINE: '5s', LEASE_RETRY_PERIOD: '1s' };

let plane: ControlPlane;
let postgres: PostgresServer;
let kubeconfig: string;
let objects: CustomObjectsApi;
let core: CoreV1Api;
let rbac: RbacAuthorizationV1Api;
const pools: Pool[] = [];
const services: ServiceProcess[] = [];

const common = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function createNamespace(name: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name } } });
}

async function createCheck(namespace: string, name: string, spec: Partial<UptimeCheckSpec> = {}, labels?: Record<string, string>): Promise<UptimeCheck> {
  return (await objects.createNamespacedCustomObject({
    ...common,
    namespace,
    body: {
      apiVersion: UPTIME_CHECK.apiVersion,
      kind: UPTIME_CHECK.kind,
      metadata: { name, namespace, ...(labels ? { labels } : {}) },
      spec: { url: `https://${name}.example.com/health`, ...spec },
    },
  })) as UptimeCheck;
}

async function patchSpec(namespace: string, name: string, spec: Partial<UptimeCheckSpec>): Promise<UptimeCheck> {
  return (await objects.patchNamespacedCustomObject({ ...common, namespace, name, body: { spec } }, mergePatch)) as UptimeCheck;
}

async function patchStatus(namespace: string, name: string, status: Record<string, unknown>): Promise<UptimeCheck> {
  return (await objects.patchNamespacedCustomObjectStatus({ ...common, namespace, name, body: { status } }, mergePatch)) as UptimeCheck;
}

async function deleteCheck(namespace: string, name: string): Promise<void> {
  await objects.deleteNamespacedCustomObject({ ...common, namespace, name });
}

async function listChecks(namespace?: string): Promise<UptimeCheck[]> {
  const list = (namespace ? await objects.listNamespacedCustomObject({ ...common, namespace }) : await objects.listClusterCustomObject(common)) as { items: UptimeCheck[] };
  return list.items;
}

/** A fresh, migrated database and a pool on it. */
async function freshDatabase(): Promise<{ url: string; pool: Pool }> {
  const db = await postgres.createDatabase();
  const pool = createPool({ connectionString: db.url, applicationName: 'watcher-test', max: 3 });
  pools.push(pool);
  await migrate(pool);
  return { url: db.url, pool };
}

async function startWatcher(env: Record<string, string>, instance = env.POD_NAME ?? 'watcher'): Promise<ServiceProcess> {
  const service = await startService(
    'watcher',
    { KUBECONFIG: kubeconfig, LEASE_NAMESPACE: SYSTEM_NAMESPACE, POD_NAME: instance, LOG_LEVEL: 'debug', ...FAST_LEASE, ...env },
    { opsPort: await freePort(), instance },
  );
  services.push(service);
  return service;
}

interface Row {
  uid: string;
  namespace: string;
  name: string;
  generation: number;
  url: string;
  [column: string]: unknown;
}

async function rows(pool: Pool, namespace?: string): Promise<Row[]> {
  const { rows: result } = await pool.query<Row>(
    `SELECT *, xmin::text AS row_version FROM vigil.checks WHERE $1::text IS NULL OR namespace = $1 ORDER BY namespace, name`,
    [namespace ?? null],
  );
  return result;
}

async function row(pool: Pool, uid: string): Promise<Row | undefined> {
  return (await pool.query<Row>(`SELECT *, xmin::text AS row_version FROM vigil.checks WHERE uid = $1`, [uid])).rows[0];
}

/** What must match between the cluster and the table. */
const identity = (r: { uid: string; namespace: string; name: string; generation: number; url: string }) => ({
  uid: r.uid,
  namespace: r.namespace,
  name: r.name,
  generation: r.generation,
  url: r.url,
});
const fromCheck = (c: UptimeCheck) =>
  identity({ uid: c.metadata.uid!, namespace: c.metadata.namespace, name: c.metadata.name, generation: c.metadata.generation!, url: c.spec.url });
const byUid = (a: { uid: string }, b: { uid: string }) => a.uid.localeCompare(b.uid);

async function tableMatchesCluster(pool: Pool, namespace?: string): Promise<boolean> {
  const [cluster, table] = await Promise.all([listChecks(namespace), rows(pool, namespace)]);
  return JSON.stringify(cluster.map(fromCheck).sort(byUid)) === JSON.stringify(table.map(identity).sort(byUid));
}

async function expectTableMatchesCluster(pool: Pool, namespace?: string): Promise<void> {
  await waitFor('vigil.checks to equal the UptimeChecks in the cluster', () => tableMatchesCluster(pool, namespace), { timeoutMs: 60_000, intervalMs: 250 });
  const [cluster, table] = await Promise.all([listChecks(namespace), rows(pool, namespace)]);
  expect(table.map(identity).sort(byUid)).toEqual(cluster.map(fromCheck).sort(byUid));
}

/** Sum of a metric's samples whose labels include `labels`. */
async function metric(service: ServiceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${service.opsUrl}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) total += Number(match[3]);
  }
  return total;
}

async function readiness(service: ServiceProcess): Promise<{ status: number; body: { status: string; checks: Record<string, string> } }> {
  const res = await fetch(`${service.opsUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
}

async function leaseHolder(name: string): Promise<string | undefined> {
  try {
    const lease = await plane.kubeConfig().makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace: SYSTEM_NAMESPACE });
    return lease.spec?.holderIdentity ?? undefined;
  } catch (err) {
    if (err instanceof ApiException && err.code === 404) return undefined;
    throw err;
  }
}

/** A ServiceAccount bound to the given cluster-wide rules and to the lease rules in vigil-system; returns a kubeconfig with its token. */
async function serviceAccountKubeconfig(name: string, clusterRules: V1PolicyRule[]): Promise<string> {
  await core.createNamespacedServiceAccount({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name }, rules: clusterRules } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }] },
  });
  const leaderElection = `${name}-leader-election`;
  await rbac.createNamespacedRole({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name: leaderElection }, rules: LEASE_RULES } });
  await rbac.createNamespacedRoleBinding({
    namespace: SYSTEM_NAMESPACE,
    body: {
      metadata: { name: leaderElection },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: leaderElection },
      subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }],
    },
  });
  return plane.writeTokenKubeconfig(await plane.tokenFor(SYSTEM_NAMESPACE, name), name);
}

beforeAll(async () => {
  ({ plane, postgres } = await startControlPlaneAndPostgres({ controllerManager: true }));
  const kc = plane.kubeConfig();
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
  objects = kc.makeApiClient(CustomObjectsApi);
  core = kc.makeApiClient(CoreV1Api);
  rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
  await createNamespace(SYSTEM_NAMESPACE);
  kubeconfig = await serviceAccountKubeconfig(SERVICE_ACCOUNT, CLUSTER_RULES);
});

// Each scenario's watchers end with it, so they neither load the machine nor see the next scenario's outages.
afterEach(async () => {
  await Promise.all(services.splice(0).map((s) => s.stop('SIGTERM')));
});

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await plane?.stop();
  await postgres?.destroy();
});

describe('the watcher', () => {
  it('is ready only with a current schema and a finished first sync, serves metrics, and releases its lease on SIGTERM', async () => {
    const db = await postgres.createDatabase();
    const watcher = await startWatcher({ DATABASE_URL: db.url, LEASE_NAME: 'lifecycle', POD_NAME: 'lifecycle-0' });
    await waitFor('the ops server', async () => (await fetch(`${watcher.opsUrl}/healthz`)).ok);
    const notReady = await readiness(watcher);
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.postgres).toMatch(/run the migrations/);

    const pool = createPool({ connectionString: db.url, applicationName: 'test', max: 1 });
    pools.push(pool);
    await migrate(pool);
    await waitForReady(watcher, 60_000);
    expect((await readiness(watcher)).body).toEqual({ status: 'ok', checks: { postgres: 'ok', kubernetes: 'leader' } });
    expect(await leaseHolder('lifecycle')).toBe('lifecycle-0');
    expect(await metric(watcher, 'vigil_watcher_is_leader')).toBe(1);
    expect(await metric(watcher, 'vigil_watcher_relists_total', { reason: 'start' })).toBe(1);
    const text = await (await fetch(`${watcher.opsUrl}/metrics`)).text();
    expect(text).toContain('vigil_process_resident_memory_bytes{service="watcher"}');
    for (const name of ['vigil_watcher_checks_mirrored', 'vigil_watcher_sync_lag_seconds_bucket', 'vigil_watcher_watch_restarts_total']) expect(text).toContain(name);

    expect(await watcher.stop('SIGTERM')).toBe(0);
    const logs = await watcher.logs();
    expect(logs.every((l) => l.service === 'watcher')).toBe(true);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'released the lease', 'stopped']));
    expect(await leaseHolder('lifecycle')).toBeUndefined();
  });

  it('mirrors create, edit and delete, seeds state from an existing status, and leaves prober columns alone', async () => {
    const ns = 'mirror';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    // Exists before the watcher starts, with a status from an earlier life.
    const old = await createCheck(ns, 'old');
    await patchStatus(ns, 'old', { state: 'down', since: '2026-06-06T22:41:05Z', code: 0 });
    for (let i = 0; i < 10; i++) await createCheck(ns, `existing-${i}`);

    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    let notifications = 0;
    listener.on('notification', () => notifications++);
    await listener.query(`LISTEN ${CHANNELS.checks}`);
    try {
      const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'mirror', POD_NAME: 'mirror-0' });
      await waitForReady(watcher, 60_000);
      expect(await rows(pool)).toHaveLength(11);
      // The whole initial list went in as one transaction with one NOTIFY.
      await waitFor('the NOTIFY of the initial sync', () => notifications >= 1);
      expect(notifications).toBe(1);
      expect(await row(pool, old.metadata.uid!)).toMatchObject({ state: 'down', state_since: new Date('2026-06-06T22:41:05Z') });

      // Create: every column probers and the status page need.
      const created = await createCheck(
        ns,
        'shop',
        {
          method: 'HEAD',
          headers: { 'X-Probe': 'vigil' },
          interval: '1m',
          timeout: '2s',
          expect: { statusCodes: ['200', '300-308'], bodyContains: 'ok' },
          failureThreshold: 3,
          successThreshold: 2,
          statusPage: { publish: false, displayName: 'Shop', group: 'Public' },
        },
        { team: 'payments' },
      );
      const uid = created.metadata.uid!;
      await waitFor('the created row', async () => (await row(pool, uid)) !== undefined, { timeoutMs: 30_000, intervalMs: 50 });
      expect(await row(pool, uid)).toMatchObject({
        namespace: ns,
        name: 'shop',
        generation: 1,
        labels: { team: 'payments' },
        url: 'https://shop.example.com/health',
        method: 'HEAD',
        headers: { 'X-Probe': 'vigil' },
        interval_ms: 60_000,
        timeout_ms: 2000,
        expect_status_codes: ['200', '300-308'],
        expect_body_contains: 'ok',
        failure_threshold: 3,
        success_threshold: 2,
        paused: false,
        publish: false,
        display_name: 'Shop',
        group_name: 'Public',
        state: 'pending',
      });
      await waitFor('the NOTIFY of the create', () => notifications >= 2);
      expect(notifications).toBe(2);

      // A prober has probed it: schedule and state are the prober's.
      await pool.query(
        `UPDATE vigil.checks SET next_due_at = now() + interval '1 hour', state = 'up', consecutive_successes = 4, last_code = 204 WHERE uid = $1`,
        [uid],
      );
      const edited = await patchSpec(ns, 'shop', { interval: '5m', paused: true });
      expect(edited.metadata.generation).toBe(2);
      await waitFor('the edited row', async () => (await row(pool, uid))?.generation === 2, { timeoutMs: 30_000, intervalMs: 50 });
      const afterEdit = (await row(pool, uid))!;
      expect(afterEdit).toMatchObject({ interval_ms: 300_000, paused: true, state: 'up', consecutive_successes: 4, last_code: 204 });
      // An edit is probed again at once.
      expect((afterEdit.next_due_at as Date).getTime()).toBeLessThanOrEqual(Date.now() + 1000);

      await deleteCheck(ns, 'shop');
      await waitFor('the deleted row to go', async () => (await row(pool, uid)) === undefined, { timeoutMs: 30_000, intervalMs: 50 });
      await waitFor('the NOTIFYs of the edit and the delete', () => notifications >= 4);
      expect(notifications).toBe(4);
      expect(await metric(watcher, 'vigil_watcher_checks_mirrored')).toBe(11);
    } finally {
      await listener.end();
    }
  });

  it('changes nothing in the row on a status-only update', async () => {
    const ns = 'status-only';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    const check = await createCheck(ns, 'steady', {}, { tier: 'gold' });
    await createCheck(ns, 'barrier');
    const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'status-only', POD_NAME: 'status-only-0' });
    await waitForReady(watcher, 60_000);
    const before = (await row(pool, check.metadata.uid!))!;
    const transactionsBefore = await metric(watcher, 'vigil_watcher_write_transactions_total');

    for (const state of ['up', 'down', 'up']) {
      const patched = await patchStatus(ns, 'steady', { state, code: state === 'up' ? 200 : 0, since: new Date().toISOString(), observedGeneration: 1 });
      expect(patched.metadata.generation).toBe(1);
    }
    // Watch events arrive in order: once this later edit is in, the status updates were seen.
    await patchSpec(ns, 'barrier', { interval: '45s' });
    await waitFor('the barrier edit', async () => (await rows(pool, ns)).find((r) => r.name === 'barrier')?.interval_ms === 45_000);

    expect(await row(pool, check.metadata.uid!)).toEqual(before);
    // Only the barrier's edit was written.
    expect((await metric(watcher, 'vigil_watcher_write_transactions_total')) - transactionsBefore).toBe(1);
  });

  it('converges after a restart with drift: 50 created, 20 edited and 30 deleted while it was down', async () => {
    const ns = 'drift';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    for (let i = 0; i < 60; i++) await createCheck(ns, `check-${i}`);
    // All namespaces: the table must equal every UptimeCheck in the cluster.
    const env = { DATABASE_URL: url, LEASE_NAME: 'drift', POD_NAME: 'drift-0' };
    const first = await startWatcher(env, 'drift-0');
    await waitForReady(first, 60_000);
    await expectTableMatchesCluster(pool);

    expect(await first.stop('SIGKILL')).toBe('SIGKILL');
    for (let i = 60; i < 110; i++) await createCheck(ns, `check-${i}`);
    for (let i = 0; i < 20; i++) await patchSpec(ns, `check-${i}`, { url: `https://edited-${i}.example.com/` });
    for (let i = 20; i < 50; i++) await deleteCheck(ns, `check-${i}`);
    expect(await tableMatchesCluster(pool)).toBe(false);

    // The same pod restarting: it still holds the lease under its name.
    const second = await startWatcher(env, 'drift-0');
    await waitForReady(second, 60_000);
    await expectTableMatchesCluster(pool);
    const table = await rows(pool, ns);
    expect(table).toHaveLength(80);
    expect(table.filter((r) => r.url.startsWith('https://edited-'))).toHaveLength(20);
    expect(table.filter((r) => r.generation === 2)).toHaveLength(20);
  });

  it('removes the rows of a deleted namespace, with kube-controller-manager deleting its checks', async () => {
    const { url, pool } = await freshDatabase();
    await createNamespace('doomed');
    await createNamespace('kept');
    for (let i = 0; i < 5; i++) await createCheck('doomed', `check-${i}`);
    for (let i = 0; i < 2; i++) await createCheck('kept', `check-${i}`);
    const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: 'doomed,kept', LEASE_NAME: 'namespaces', POD_NAME: 'namespaces-0' });
    await waitForReady(watcher, 60_000);
    expect((await rows(pool)).map((r) => r.namespace)).toEqual(['doomed', 'doomed', 'doomed', 'doomed', 'doomed', 'kept', 'kept']);

    await core.deleteNamespace({ name: 'doomed' });
    await waitFor(
      'namespace doomed to be gone',
      async () => {
        try {
          await core.readNamespace({ name: 'doomed' });
          return false;
        } catch (err) {
          return err instanceof ApiException && err.code === 404;
        }
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    await waitFor('the rows of doomed to go', async () => (await rows(pool, 'doomed')).length === 0);
    expect((await rows(pool)).map((r) => `${r.namespace}/${r.name}`)).toEqual(['kept/check-0', 'kept/check-1']);
  });

  it('with a token lacking watch: not ready, says which permission is missing, stays up, and recovers once granted', async () => {
    const name = 'watcher-no-watch';
    const noWatch = await serviceAccountKubeconfig(name, [{ apiGroups: [UPTIME_CHECK.group], resources: [UPTIME_CHECK.plural], verbs: ['list'] }, ...CLUSTER_RULES.slice(1)]);
    const { url } = await freshDatabase();
    const watcher = await startWatcher({ DATABASE_URL: url, KUBECONFIG: noWatch, LEASE_NAME: 'no-watch', POD_NAME: 'no-watch-0' });
    const line = 'missing permission: watch uptimechecks.vigil.dev in all namespaces';
    await waitFor('the missing-permission log line', async () => (await watcher.logs()).some((l) => l.msg === line && l.level === 'error'));
    const notReady = await readiness(watcher);
    expect(notReady.status).toBe(503);
    expect(notReady.body.checks.kubernetes).toBe(line);
    // It never took the lease it could not use.
    expect(await leaseHolder('no-watch')).toBeUndefined();
    // Still running after several retries, not crash-looping.
    await new Promise((r) => setTimeout(r, 4000));
    expect(watcher.child.exitCode).toBeNull();
    expect((await watcher.logs()).filter((l) => l.msg === line).length).toBeGreaterThanOrEqual(2);

    await rbac.replaceClusterRole({ name, body: { metadata: { name }, rules: CLUSTER_RULES } });
    await waitForReady(watcher, 60_000);
    expect(await leaseHolder('no-watch')).toBe('no-watch-0');
  });

  it('runs one leader: only it writes; SIGKILL hands over after the lease expires, SIGTERM hands over at once', async () => {
    const ns = 'leader';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    const env = { DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'leader' };
    const replicas = new Map<string, ServiceProcess>();
    for (const name of ['leader-a', 'leader-b']) replicas.set(name, await startWatcher({ ...env, POD_NAME: name }));
    await waitFor('a leader', async () => replicas.has((await leaseHolder('leader')) ?? ''));
    const firstName = (await leaseHolder('leader'))!;
    const first = replicas.get(firstName)!;
    const [secondName, second] = [...replicas].find(([n]) => n !== firstName)!;
    await Promise.all([waitForReady(first, 60_000), waitForReady(second, 60_000)]);
    expect((await readiness(second)).body.checks.kubernetes).toBe('standby');

    for (let i = 0; i < 3; i++) await createCheck(ns, `check-${i}`);
    await expectTableMatchesCluster(pool, ns);
    expect(await metric(first, 'vigil_watcher_is_leader')).toBe(1);
    expect(await metric(first, 'vigil_watcher_write_transactions_total')).toBeGreaterThan(0);
    expect(await metric(second, 'vigil_watcher_is_leader')).toBe(0);
    expect(await metric(second, 'vigil_watcher_write_transactions_total')).toBe(0);
    expect(await metric(second, 'vigil_watcher_relists_total')).toBe(0);

    // SIGKILL: no release; the standby waits out the lease, then leads and writes.
    await first.stop('SIGKILL');
    await waitFor('the standby to take over', async () => (await leaseHolder('leader')) === secondName, { timeoutMs: 60_000, intervalMs: 200 });
    await createCheck(ns, 'after-kill');
    await expectTableMatchesCluster(pool, ns);
    expect(await metric(second, 'vigil_watcher_is_leader')).toBe(1);
    expect(await metric(second, 'vigil_watcher_write_transactions_total')).toBeGreaterThan(0);

    // SIGTERM: the leader releases the lease and a new standby takes it well before it could have expired.
    const third = await startWatcher({ ...env, POD_NAME: 'leader-c' });
    await waitForReady(third, 60_000);
    const signalledAt = Date.now();
    const stopping = second.stop('SIGTERM');
    await waitFor('the new standby to take over', async () => (await leaseHolder('leader')) === 'leader-c', { timeoutMs: 60_000, intervalMs: 100 });
    const handoverMs = Date.now() - signalledAt;
    expect(await stopping).toBe(0);
    expect((await second.logs()).map((l) => l.msg)).toContain('released the lease');
    expect(handoverMs).toBeLessThan(8000); // LEASE_DURATION: without the release it could not be sooner
    await deleteCheck(ns, 'check-0');
    await expectTableMatchesCluster(pool, ns);
    expect(await metric(third, 'vigil_watcher_is_leader')).toBe(1);
  });

  it('keeps changes while Postgres is down, is not ready meanwhile, and writes them once it is back', async () => {
    const ns = 'pg-outage';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    await createCheck(ns, 'before');
    const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'pg-outage', POD_NAME: 'pg-outage-0' });
    await waitForReady(watcher, 60_000);
    await postgres.stop();
    try {
      await waitFor('readiness to fail', async () => (await readiness(watcher)).status === 503);
      expect((await readiness(watcher)).body.checks.postgres).not.toBe('ok');
      await createCheck(ns, 'during');
      await deleteCheck(ns, 'before');
      await waitFor('a failed write', async () => (await metric(watcher, 'vigil_watcher_write_errors_total')) > 0);
      expect(watcher.child.exitCode).toBeNull();
    } finally {
      await postgres.restart();
    }
    await waitForReady(watcher, 60_000);
    await expectTableMatchesCluster(pool, ns);
    expect((await rows(pool, ns)).map((r) => r.name)).toEqual(['during']);
  });

  it('isolates an object Postgres refuses: condition, one Event, metrics, while 100 other checks keep flowing; fixing it clears it', async () => {
    const ns = 'poison';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    // Postgres refuses this one value for good (a CHECK violation, like a NUL character: not transient).
    await pool.query(`ALTER TABLE vigil.checks ADD CONSTRAINT test_refuses_poison CHECK (display_name IS DISTINCT FROM 'poison')`);
    for (let i = 0; i < 40; i++) await createCheck(ns, `before-${i}`);
    const poison = await createCheck(ns, 'bad', { statusPage: { publish: true, displayName: 'poison' } });
    const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'poison', POD_NAME: 'poison-0' });
    await waitForReady(watcher, 60_000);
    // The initial sync went in without it; the watcher is ready (nothing is wrong with Postgres).
    const withoutPoison = async () => {
      const [cluster, table] = await Promise.all([listChecks(ns), rows(pool, ns)]);
      return { cluster: cluster.filter((c) => c.metadata.name !== 'bad').map(fromCheck).sort(byUid), table: table.map(identity).sort(byUid) };
    };
    expect((await withoutPoison()).table).toHaveLength(40);

    // 100 other checks created, edited and deleted around it keep flowing.
    for (let i = 0; i < 60; i++) await createCheck(ns, `after-${i}`);
    for (let i = 0; i < 25; i++) await patchSpec(ns, `before-${i}`, { url: `https://edited-${i}.example.com/` });
    for (let i = 25; i < 40; i++) await deleteCheck(ns, `before-${i}`);
    await waitFor('vigil.checks to equal the cluster but the poison', async () => {
      const { cluster, table } = await withoutPoison();
      return JSON.stringify(cluster) === JSON.stringify(table);
    }, { timeoutMs: 60_000, intervalMs: 250 });
    const { cluster, table } = await withoutPoison();
    expect(table).toEqual(cluster);
    expect(table).toHaveLength(85);
    expect(await row(pool, poison.metadata.uid!)).toBeUndefined();

    // Reported on the object: the Stored condition, with Postgres's words.
    const storedCondition = async () => (await objects.getNamespacedCustomObject({ ...common, namespace: ns, name: 'bad' }) as UptimeCheck).status?.conditions?.find((c) => c.type === STORED_CONDITION);
    await waitFor('the Stored condition', async () => (await storedCondition()) !== undefined);
    expect(await storedCondition()).toMatchObject({ status: 'False', reason: STORED_REASONS.refused, observedGeneration: 1, message: expect.stringMatching(/23514 .*test_refuses_poison/) });
    // The alerter's status (its own field manager) and the watcher's condition live side by side.
    await objects.patchNamespacedCustomObjectStatus(
      {
        ...common,
        namespace: ns,
        name: 'bad',
        fieldManager: FIELD_MANAGERS.alerter,
        force: true,
        body: {
          apiVersion: UPTIME_CHECK.apiVersion,
          kind: UPTIME_CHECK.kind,
          metadata: { name: 'bad', namespace: ns },
          status: { state: 'pending', conditions: [{ type: READY_CONDITION, status: 'Unknown', reason: 'Pending', message: 'waiting', lastTransitionTime: '2026-12-05T08:00:00Z' }] },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
    expect(await storedCondition()).toMatchObject({ status: 'False', reason: STORED_REASONS.refused });
    // Isolated rows are retried on a backoff (5 s, then 10 s...): refused again, still one Event and one count.
    await waitFor('a retry', async () => (await watcher.logs()).some((l) => l.msg === 'Postgres still refuses an isolated UptimeCheck'), { timeoutMs: 30_000, intervalMs: 500 });
    const events = async () => (await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=bad` })).items;
    expect((await events()).map((e) => [e.type, e.reason, e.source?.component])).toEqual([['Warning', STORED_REASONS.refused, 'vigil-watcher']]);
    expect((await events())[0]!.message).toMatch(/test_refuses_poison/);
    expect(await metric(watcher, 'vigil_watcher_objects_refused_total', { reason: STORED_REASONS.refused })).toBe(1);
    expect(await metric(watcher, 'vigil_watcher_objects_isolated')).toBe(1);
    expect((await readiness(watcher)).status).toBe(200);

    // Fixing the object stores it at once and clears the condition; the alerter's stays.
    await patchSpec(ns, 'bad', { statusPage: { publish: true, displayName: 'fixed' } });
    await waitFor('the fixed row', async () => (await row(pool, poison.metadata.uid!))?.display_name === 'fixed');
    await waitFor('the condition to clear', async () => (await storedCondition()) === undefined);
    const fixed = (await objects.getNamespacedCustomObject({ ...common, namespace: ns, name: 'bad' })) as UptimeCheck;
    expect(fixed.status).toMatchObject({ state: 'pending', conditions: [expect.objectContaining({ type: READY_CONDITION, status: 'Unknown' })] });
    expect(fixed.status!.conditions).toHaveLength(1);
    expect(await metric(watcher, 'vigil_watcher_objects_isolated')).toBe(0);
    expect(await events()).toHaveLength(1);
  });

  // Restarts the API server: keep it last.
  it('relists after 410 Gone and converges, also repairing rows changed behind its back', async () => {
    const ns = 'gone';
    await createNamespace(ns);
    const { url, pool } = await freshDatabase();
    for (let i = 0; i < 10; i++) await createCheck(ns, `check-${i}`);
    const watcher = await startWatcher({ DATABASE_URL: url, WATCH_NAMESPACES: ns, LEASE_NAME: 'gone', POD_NAME: 'gone-0', LEASE_DURATION: '60s', LEASE_RENEW_DEADLINE: '50s' });
    await waitForReady(watcher, 60_000);
    await expectTableMatchesCluster(pool, ns);

    // Freeze it, and cut its watch by restarting the API server (without a watch
    // cache, so watches are served from etcd); it cannot see what happens next.
    watcher.child.kill('SIGSTOP');
    await plane.stopApiServer();
    await plane.startApiServer(['--watch-cache=false']);
    for (let i = 10; i < 15; i++) await createCheck(ns, `check-${i}`);
    for (let i = 0; i < 3; i++) await patchSpec(ns, `check-${i}`, { url: `https://moved-${i}.example.com/` });
    for (let i = 3; i < 7; i++) await deleteCheck(ns, `check-${i}`);
    // Drift in the table itself: a stray row and a lost one.
    await pool.query(
      `SELECT * FROM vigil.upsert_checks(jsonb_build_array(jsonb_build_object(
         'uid', gen_random_uuid(), 'namespace', $1::text, 'name', 'stray', 'generation', 1, 'url', 'https://stray.example.com', 'interval_ms', 30000, 'timeout_ms', 10000)))`,
      [ns],
    );
    await pool.query(`DELETE FROM vigil.checks WHERE namespace = $1 AND name = 'check-9'`, [ns]);
    // Compact etcd up to now: the resourceVersion the watcher holds is gone.
    const etcd = `http://127.0.0.1:${plane.etcdPort}`;
    const range = (await (await fetch(`${etcd}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
    const compacted = await fetch(`${etcd}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: range.header.revision, physical: true }) });
    expect(compacted.status).toBe(200);
    watcher.child.kill('SIGCONT');

    await waitFor('a relist after 410 Gone', async () => (await metric(watcher, 'vigil_watcher_relists_total', { reason: 'gone' })) >= 1, { timeoutMs: 60_000, intervalMs: 250 }).catch(
      async (err: Error) => {
        throw new Error(`${err.message}\n--- last lines of ${watcher.logFile} ---\n${await watcher.logTail(60)}`);
      },
    );
    await expectTableMatchesCluster(pool, ns);
    expect((await rows(pool, ns)).map((r) => r.name)).not.toContain('stray');
    expect((await watcher.logs()).map((l) => l.msg)).toContain('watch expired (410 Gone): relisting');
    expect(watcher.child.exitCode).toBeNull();
    expect((await readiness(watcher)).status).toBe(200);
  });
});
