// Watcher benchmarks, run by hand (not part of `make test`); results go in RESULTS.md.
//   nx run watcher:build
//   node bench/watcher/bench.ts latency [operations per kind, default 100]
//   node bench/watcher/bench.ts initial-sync [checks, default 10000]
// The watcher runs as it ships (services/watcher/dist/main.js), with its least-privilege
// ServiceAccount token, against a real kube-apiserver + etcd and a real Postgres.
import { cpus, loadavg, totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, RbacAuthorizationV1Api, setHeaderOptions } from '@kubernetes/client-node';
import { createPool, migrate, type Pool } from '@vigil/db';
import { UPTIME_CHECK, loadUptimeCheckCrd } from '@vigil/k8s';
import { ControlPlane, PostgresServer, freePort, startService, waitFor, waitForReady, type ServiceProcess } from '@vigil/testing';

const SYSTEM_NAMESPACE = 'vigil-system';
const objectsCommon = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural };

interface Bench {
  plane: ControlPlane;
  postgres: PostgresServer;
  databaseUrl: string;
  pool: Pool;
  objects: CustomObjectsApi;
  core: CoreV1Api;
  kubeconfig: string;
  startWatcher(env?: Record<string, string>): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

async function setUp(): Promise<Bench> {
  const [plane, postgres] = await Promise.all([ControlPlane.start(), PostgresServer.start()]);
  const kc = plane.kubeConfig();
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
  await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const name = 'vigil-watcher';
  await core.createNamespace({ body: { metadata: { name: SYSTEM_NAMESPACE } } });
  await core.createNamespacedServiceAccount({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name }, rules: [{ apiGroups: [UPTIME_CHECK.group], resources: [UPTIME_CHECK.plural], verbs: ['list', 'watch'] }] } });
  await rbac.createClusterRoleBinding({
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }] },
  });
  await rbac.createNamespacedRole({
    namespace: SYSTEM_NAMESPACE,
    body: { metadata: { name }, rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: SYSTEM_NAMESPACE,
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: SYSTEM_NAMESPACE }] },
  });
  const kubeconfig = await plane.writeTokenKubeconfig(await plane.tokenFor(SYSTEM_NAMESPACE, name), name);
  const db = await postgres.createDatabase();
  const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 4 });
  await migrate(pool);
  const started: ServiceProcess[] = [];
  return {
    plane,
    postgres,
    databaseUrl: db.url,
    pool,
    objects: kc.makeApiClient(CustomObjectsApi),
    core,
    kubeconfig,
    async startWatcher(env = {}) {
      const service = await startService(
        'watcher',
        { DATABASE_URL: db.url, KUBECONFIG: kubeconfig, LEASE_NAMESPACE: SYSTEM_NAMESPACE, POD_NAME: 'bench-0', ...env },
        { opsPort: await freePort() },
      );
      started.push(service);
      return service;
    },
    async stop() {
      await Promise.all(started.map((s) => s.stop()));
      await pool.end();
      await plane.stop();
      await postgres.destroy();
    },
  };
}

function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')} at start, Node ${process.version}`;
}

/** The q-quantile (0..1) of `values` by the nearest-rank method. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function summary(values: readonly number[]): string {
  return `n=${values.length} p50=${quantile(values, 0.5).toFixed(1)} ms p90=${quantile(values, 0.9).toFixed(1)} ms p99=${quantile(values, 0.99).toFixed(1)} ms max=${Math.max(...values).toFixed(1)} ms`;
}

/** Create, edit and delete `perKind` checks one after another, timing each until its row reflects it. */
async function latency(bench: Bench, perKind: number): Promise<void> {
  const namespace = 'bench';
  await bench.core.createNamespace({ body: { metadata: { name: namespace } } });
  const watcher = await bench.startWatcher({ WATCH_NAMESPACES: namespace, LOG_LEVEL: 'warn' });
  await waitForReady(watcher, 60_000);

  const listener = new pg.Client({ connectionString: bench.databaseUrl });
  await listener.connect();
  let wake: (() => void) | undefined;
  listener.on('notification', () => wake?.());
  await listener.query('LISTEN vigil_checks');

  /** Resolves once `probe` holds, re-checking after every NOTIFY (and every 50 ms as a backstop). */
  async function until(probe: () => Promise<boolean>): Promise<void> {
    for (;;) {
      const notified = new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, 50);
      });
      if (await probe()) return;
      await notified;
    }
  }
  const rowOf = async (name: string) =>
    (await bench.pool.query<{ generation: number }>(`SELECT generation FROM vigil.checks WHERE namespace = $1 AND name = $2`, [namespace, name])).rows[0];

  const latencies: Record<'create' | 'edit' | 'delete', number[]> = { create: [], edit: [], delete: [] };
  const measure = async (kind: keyof typeof latencies, op: () => Promise<unknown>, done: () => Promise<boolean>) => {
    const started = performance.now();
    await op();
    await until(done);
    latencies[kind].push(performance.now() - started);
  };
  for (let i = 0; i < perKind; i++) {
    const name = `check-${i}`;
    await measure(
      'create',
      () => bench.objects.createNamespacedCustomObject({ ...objectsCommon, namespace, body: { apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name }, spec: { url: `https://${name}.example.com/` } } }),
      async () => (await rowOf(name)) !== undefined,
    );
  }
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  for (let i = 0; i < perKind; i++) {
    const name = `check-${i}`;
    await measure(
      'edit',
      () => bench.objects.patchNamespacedCustomObject({ ...objectsCommon, namespace, name, body: { spec: { interval: '45s' } } }, mergePatch),
      async () => (await rowOf(name))?.generation === 2,
    );
  }
  for (let i = 0; i < perKind; i++) {
    const name = `check-${i}`;
    await measure('delete', () => bench.objects.deleteNamespacedCustomObject({ ...objectsCommon, namespace, name }), async () => (await rowOf(name)) === undefined);
  }
  await listener.end();

  const all = [...latencies.create, ...latencies.edit, ...latencies.delete];
  for (const [kind, values] of Object.entries(latencies)) console.log(`${kind.padEnd(6)} ${summary(values)}`);
  console.log(`all    ${summary(all)}`);
}

/** Starts the watcher against `count` existing checks and records the time to readiness and its memory. */
async function initialSync(bench: Bench, count: number): Promise<void> {
  // Baseline: the same process mirroring an empty namespace.
  await bench.core.createNamespace({ body: { metadata: { name: 'empty' } } });
  const idle = await bench.startWatcher({ WATCH_NAMESPACES: 'empty', POD_NAME: 'bench-idle', LEASE_NAME: 'bench-idle' });
  await waitForReady(idle, 60_000);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = await metricValue(idle, 'vigil_process_resident_memory_bytes');
  await idle.stop();
  console.log(`baseline (0 checks): RSS ${(idleRss / 2 ** 20).toFixed(1)} MiB`);

  const namespaces = 10;
  for (let n = 0; n < namespaces; n++) await bench.core.createNamespace({ body: { metadata: { name: `sync-${n}` } } });
  const createStarted = performance.now();
  let next = 0;
  // 16 concurrent creators: the API server, not this loop, is the limit.
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = next++; i < count; i = next++) {
        const namespace = `sync-${i % namespaces}`;
        await bench.objects.createNamespacedCustomObject({
          ...objectsCommon,
          namespace,
          body: { apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name: `check-${i}`, labels: { bench: 'sync' } }, spec: { url: `https://check-${i}.example.com/health`, interval: '1m' } },
        });
      }
    }),
  );
  console.log(`created ${count} checks in ${((performance.now() - createStarted) / 1000).toFixed(1)} s`);

  const started = performance.now();
  const watcher = await bench.startWatcher({ LOG_LEVEL: 'info' });
  await waitForReady(watcher, 600_000);
  const readyMs = performance.now() - started;
  const { rows } = await bench.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks`);
  if (rows[0]!.n !== count) throw new Error(`expected ${count} rows, found ${rows[0]!.n}`);
  const logs = await watcher.logs();
  const at = (msg: string) => Date.parse(String(logs.find((l) => l.msg === msg)?.time));
  const listed = logs.find((l) => l.msg === 'listed UptimeChecks');
  const status = await readFile(`/proc/${watcher.child.pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
  const heap = await metricValue(watcher, 'vigil_nodejs_heap_size_used_bytes');
  console.log(`rows: ${rows[0]!.n}`);
  console.log(`process start -> ready: ${(readyMs / 1000).toFixed(2)} s`);
  console.log(`list (paged, 500 per page): ${listed?.ms} ms; list -> rows committed: ${at('initial sync complete') - at('listed UptimeChecks')} ms`);
  console.log(`leader elected -> initial sync complete: ${at('initial sync complete') - at('became the leader')} ms`);
  console.log(`memory after sync: RSS ${(kib('VmRSS') / 1024).toFixed(1)} MiB, peak RSS ${(kib('VmHWM') / 1024).toFixed(1)} MiB, JS heap used ${(heap / 2 ** 20).toFixed(1)} MiB`);
}

async function metricValue(service: ServiceProcess, name: string): Promise<number> {
  const text = await (await fetch(`${service.opsUrl}/metrics`)).text();
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

const [mode = 'latency', size] = process.argv.slice(2);
if (mode !== 'latency' && mode !== 'initial-sync') throw new Error(`unknown benchmark ${mode}: use latency or initial-sync`);
const info = machine();
const bench = await setUp();
try {
  console.log(`machine: ${info}`);
  console.log(`command: node bench/watcher/bench.ts ${mode}${size ? ` ${size}` : ''}`);
  if (mode === 'latency') await latency(bench, Number(size ?? 100));
  else await initialSync(bench, Number(size ?? 10_000));
} finally {
  await bench.stop();
}
