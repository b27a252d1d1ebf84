// Kubernetes load benchmark (issue 10, item 5; not part of `make test`).
// From the repository root, after `nx run-many -t build -p watcher,prober,alerter`:
//
//   node bench/kubernetes/load.ts [--checks 10000] [--runs 3] [--window 90] [--flip 100] [--flip-after 15]
//                                 [--interval 60s] [--flip-interval 10s] [--quick]
//
// Starts a real Postgres, a real etcd + kube-apiserver (RBAC on, audit log of
// every status patch and Event write), the chart's CRD and least-privilege RBAC,
// and creates N UptimeChecks in 10 namespaces (16 concurrent clients; set-up,
// reported but not a figure). Then, per run, on a fresh database:
//  (a) watcher initial sync: the built watcher with its chart ServiceAccount's
//      token; process start -> /readyz (needs the full list committed), leader
//      elected -> rows committed (its log), RSS after the sync and peak RSS (VmHWM);
//  (b) status patches against the budget: the built prober (targets: a Go server
//      on 127.0.0.1; a Node target for the flipped subset) and the built alerter
//      with its defaults (STATUS_PATCH_QPS 10, STATUS_REFRESH_PERIOD 60s) for a
//      fixed window; `--flip` checks (probed every --flip-interval) have their
//      target turn 503 --flip-after seconds into the window.
//      Counted in the API server's audit log (and cross-checked with its
//      apiserver_request_total): status patches/s, Event writes/s, busiest second;
//      the alerter's budget-wait histogram; checks given a status; when the
//      flipped checks' Down status got out.
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { createPool, migrate } from '@vigil/db';
import { UPTIME_CHECK } from '@vigil/k8s';
import { DOWN, HttpTarget, PostgresServer, UP, freePort, startService, waitForReady, type ServiceName, type ServiceProcess } from '@vigil/testing';
import { cpuSeconds, log, machine, percentile, publish, repeat, rssBytes, runsFromArgs, spreadTable, table, runBenchmark } from '../lib/report.ts';
import { AuditedCluster, RELEASE_NAMESPACE, startNativeTarget, type AuditEntry } from './cluster.ts';

const { values: args } = parseArgs({
  options: {
    checks: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    window: { type: 'string', default: '90' },
    'flip-after': { type: 'string', default: '15' },
    flip: { type: 'string', default: '100' },
    interval: { type: 'string', default: '60s' },
    'flip-interval': { type: 'string', default: '10s' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const CHECKS = quick ? 500 : Number(args.checks);
const RUNS = quick ? 1 : runsFromArgs();
const WINDOW_S = quick ? 40 : Number(args.window);
const FLIP_AFTER_S = quick ? 10 : Number(args['flip-after']);
const FLIPPED = quick ? 20 : Number(args.flip);
const INTERVAL = args.interval!;
const FLIP_INTERVAL = args['flip-interval']!;
const NAMESPACES = 10;
const CREATORS = 16;
/** The alerter's default STATUS_PATCH_QPS, which the benchmark leaves unset: status patches + Event writes per second. */
const BUDGET_QPS = 10;
const COMMAND = `node bench/kubernetes/load.ts${quick ? ' --quick' : ''}${process.argv.slice(2).filter((a) => a !== '--quick').length ? ` ${process.argv.slice(2).filter((a) => a !== '--quick').join(' ')}` : ''}`;

const objectsCommon = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const MiB = 2 ** 20;

interface SyncFigures {
  startToReadyS: number;
  leaderToCommittedS: number;
  listS: number;
  listToCommittedS: number;
  rssAfterSyncMiB: number;
  idleRssMiB: number;
  peakRssMiB: number;
  heapUsedMiB: number;
}

interface BudgetFigures {
  windowS: number;
  statusPatches: number;
  eventWrites: number;
  statusPatchesPerS: number;
  eventWritesPerS: number;
  apiCallsPerS: number;
  apiCallsPerSAfterBurst: number;
  busiestSecond: number;
  busiestSteady5sPerS: number;
  apiserverStatusPatches: number;
  apiserverEventWrites: number;
  auditStatusPatchesAll: number;
  auditEventWritesAll: number;
  budgetWaitMeanMs: number;
  budgetWaitCalls: number;
  checksProbed: number;
  transitions: number;
  transitionsApplied: number;
  checksWithStatus: number;
  newStatusesPerSSteady: number;
  extrapolatedAllMin: number;
  backlogAtFlip: number;
  flipDownTransitions: number;
  flipDetectP50S: number;
  flipShownDown: number;
  flipToShownDownP50S: number;
  flipDownApplied: number;
  flipAppliedLatencyP50S: number;
  flipAppliedLatencyMaxS: number;
  alerterCpuS: number;
  alerterRssMiB: number;
  proberCpuS: number;
}

type RunFigures = SyncFigures & BudgetFigures;

async function metricsText(service: ServiceProcess): Promise<string> {
  return (await fetch(`${service.opsUrl}/metrics`)).text();
}

/** Sum of a metric's samples whose labels include every `labels` pair. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** The most timestamps (ms, sorted) falling in any `windowMs`. */
function busiest(times: readonly number[], windowMs: number): number {
  let max = 0;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

async function procStatusKiB(pid: number, field: string): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN);
}

async function main(): Promise<void> {
  const info = machine();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-k8s-'));
  const logDir = join(dir, 'logs');
  await mkdir(logDir);
  log(`${CHECKS} checks every ${INTERVAL} (${FLIPPED} of them every ${FLIP_INTERVAL}, flipping down ${FLIP_AFTER_S} s into each ${WINDOW_S} s window), ${RUNS} run(s); logs in ${logDir}`);
  const cleanups: Array<() => Promise<unknown>> = [];
  let finished = false;
  try {
    const [cluster, postgres] = await Promise.all([AuditedCluster.start(dir), PostgresServer.start()]);
    cleanups.push(() => cluster.stop(), () => postgres.destroy());
    const native = await startNativeTarget(dir);
    cleanups.push(() => native.stop());
    const flipTarget = await HttpTarget.start({ host: '127.0.0.1', behaviour: UP });
    cleanups.push(() => flipTarget.stop());
    const [watcherKubeconfig, alerterKubeconfig] = [await cluster.kubeconfigFor('watcher'), await cluster.kubeconfigFor('alerter')];
    const alerterUser = cluster.userOf('alerter');

    // Set-up: the UptimeChecks. Every (CHECKS / FLIPPED)-th is a "flip-" check on the switchable target.
    const kc = cluster.plane.kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const objects = kc.makeApiClient(CustomObjectsApi);
    for (let n = 0; n < NAMESPACES; n++) await core.createNamespace({ body: { metadata: { name: `load-${n}` } } });
    await core.createNamespace({ body: { metadata: { name: 'load-empty' } } });
    const flipEvery = FLIPPED > 0 ? Math.floor(CHECKS / FLIPPED) : Number.POSITIVE_INFINITY;
    const createStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: CREATORS }, async () => {
        for (let i = next++; i < CHECKS; i = next++) {
          const flip = i % flipEvery === 0 && i / flipEvery < FLIPPED;
          const name = `${flip ? 'flip' : 'check'}-${i}`;
          const url = flip ? flipTarget.url(`/${name}`) : `http://127.0.0.1:${native.port}/${name}`;
          const interval = flip ? FLIP_INTERVAL : INTERVAL;
          await objects.createNamespacedCustomObject({
            ...objectsCommon,
            namespace: `load-${i % NAMESPACES}`,
            body: { apiVersion: `${UPTIME_CHECK.group}/${UPTIME_CHECK.version}`, kind: 'UptimeCheck', metadata: { name }, spec: flip ? { url, interval, timeout: '5s' } : { url, interval } },
          });
        }
      }),
    );
    const createSeconds = (performance.now() - createStarted) / 1000;
    log(`set-up: created ${CHECKS} UptimeChecks in ${NAMESPACES} namespaces with ${CREATORS} clients in ${createSeconds.toFixed(1)} s`);

    const runs = await repeat(RUNS, async (run): Promise<RunFigures> => {
      const db = await postgres.createDatabase(`load_${run}`);
      const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 2 });
      const started: ServiceProcess[] = [];
      const start = async (kind: ServiceName, env: Record<string, string>) => {
        const full = { DATABASE_URL: db.url, POD_NAMESPACE: RELEASE_NAMESPACE, POD_NAME: `${kind}-${run}`, LOG_LEVEL: 'info', ...env };
        // One log file per process: the timings below are read from it.
        const service = await startService(kind, full, { opsPort: await freePort(), logDir, instance: full.POD_NAME });
        started.push(service);
        return service;
      };
      try {
        await migrate(pool);

        // (a) Baseline: the same process mirroring an empty namespace, settled for a second.
        const idle = await start('watcher', { KUBECONFIG: watcherKubeconfig, LEASE_NAME: `bench-idle-${run}`, WATCH_NAMESPACES: 'load-empty', POD_NAME: `idle-${run}` });
        await waitForReady(idle, 60_000);
        await sleep(1000);
        const idleRssMiB = (await procStatusKiB(idle.child.pid!, 'VmRSS')) / 1024;
        await idle.stop();
        started.splice(started.indexOf(idle), 1);

        // Initial sync into an empty checks table; a lease of its own per run, so no run waits for the last one's.
        const launched = performance.now();
        const watcher = await start('watcher', { KUBECONFIG: watcherKubeconfig, LEASE_NAME: `bench-watcher-${run}` });
        await waitForReady(watcher, 600_000);
        const startToReadyS = (performance.now() - launched) / 1000;
        const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.checks`);
        if (rows[0]!.n !== CHECKS) throw new Error(`expected ${CHECKS} rows after the initial sync, found ${rows[0]!.n}`);
        const logs = await watcher.logs();
        const at = (msg: string) => Date.parse(String(logs.find((l) => l.msg === msg)?.time));
        const pid = watcher.child.pid!;
        const sync: SyncFigures = {
          startToReadyS,
          leaderToCommittedS: (at('initial sync complete') - at('became the leader')) / 1000,
          listS: Number(logs.find((l) => l.msg === 'listed UptimeChecks')?.ms) / 1000,
          listToCommittedS: (at('initial sync complete') - at('listed UptimeChecks')) / 1000,
          rssAfterSyncMiB: (await procStatusKiB(pid, 'VmRSS')) / 1024,
          idleRssMiB,
          peakRssMiB: (await procStatusKiB(pid, 'VmHWM')) / 1024,
          heapUsedMiB: metric(await metricsText(watcher), 'vigil_nodejs_heap_size_used_bytes') / MiB,
        };
        log(`run ${run}: initial sync ${JSON.stringify(sync)}`);

        // (b) The budget: prober and alerter on the synced table; the watcher keeps running as in a deployment.
        const auditFrom = await cluster.auditOffset();
        const countsBefore = await cluster.requestCounts();
        const prober = await start('prober', { SSRF_ALLOW_CIDRS: '127.0.0.1/32', LOG_LEVEL: 'warn' });
        const alerter = await start('alerter', { KUBECONFIG: alerterKubeconfig, RECEIVERS_FILE: join(dir, 'no-receivers.json'), LOG_LEVEL: 'warn' });
        await Promise.all([waitForReady(prober, 120_000), waitForReady(alerter, 120_000)]);
        const windowStart = Date.now();
        const [alerterCpu0, proberCpu0] = [await cpuSeconds(alerter.child.pid!), await cpuSeconds(prober.child.pid!)];
        await sleep(windowStart + FLIP_AFTER_S * 1000 - Date.now());
        flipTarget.set(DOWN);
        const flippedAt = Date.now();
        const backlog = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM vigil.transitions WHERE status_applied_at IS NULL`);
        log(`run ${run}: flipped ${FLIPPED} targets down; ${backlog.rows[0]!.n} transitions waiting for their status`);
        await sleep(windowStart + WINDOW_S * 1000 - Date.now());
        const windowEnd = Date.now();
        const alerterMetrics = await metricsText(alerter);
        const [alerterCpuS, proberCpuS] = [(await cpuSeconds(alerter.child.pid!)) - alerterCpu0, (await cpuSeconds(prober.child.pid!)) - proberCpu0];
        const alerterRssMiB = (await rssBytes(alerter.child.pid!)) / MiB;
        // Stopped before the API server's counters are read, so they and the audit log cover the same requests.
        await alerter.stop();
        const countsAfter = await cluster.requestCounts();
        const db1 = await pool.query<{ probed: number; transitions: number; applied: number }>(
          `SELECT (SELECT count(*)::int FROM vigil.checks WHERE state <> 'pending') AS probed,
                  (SELECT count(*)::int FROM vigil.transitions) AS transitions,
                  (SELECT count(*)::int FROM vigil.transitions WHERE status_applied_at IS NOT NULL) AS applied`,
        );
        const flipDown = await pool.query<{ namespace: string; name: string; created: Date; applied: Date | null }>(
          `SELECT DISTINCT ON (namespace, name) namespace, name, created_at AS created, status_applied_at AS applied
             FROM vigil.transitions WHERE to_state = 'down' AND name LIKE 'flip-%' ORDER BY namespace, name, id`,
        );
        flipTarget.set(UP);

        const isStatusPatch = (e: AuditEntry) => e.objectRef.resource === 'uptimechecks' && e.objectRef.subresource === 'status';
        const isEventWrite = (e: AuditEntry) => e.objectRef.resource === 'events';
        const allEntries = (await cluster.auditSince(auditFrom)).filter((e) => e.user.username === alerterUser);
        const entries = allEntries.filter((e) => Date.parse(e.requestReceivedTimestamp) <= windowEnd);
        const patches = entries.filter(isStatusPatch);
        const eventWrites = entries.filter(isEventWrite);
        const times = entries.map((e) => Date.parse(e.requestReceivedTimestamp)).sort((a, b) => a - b);
        const windowS = (windowEnd - windowStart) / 1000;
        // "Steady": after the first 5 s, once the bucket's one-second burst is spent.
        const steady = times.filter((t) => t >= windowStart + 5000);
        const firstStatus = new Map<string, number>();
        for (const p of patches) {
          const key = `${p.objectRef.namespace}/${p.objectRef.name}`;
          if (p.responseStatus?.code === 200 && !firstStatus.has(key)) firstStatus.set(key, Date.parse(p.requestReceivedTimestamp));
        }
        const secondHalf = windowStart + (windowS * 1000) / 2;
        const newStatusesPerSSteady = [...firstStatus.values()].filter((t) => t >= secondHalf).length / (windowS / 2);
        const downPatchAt = new Map<string, number>();
        for (const p of patches) {
          const key = `${p.objectRef.namespace}/${p.objectRef.name}`;
          if (p.requestObject?.status?.state === 'down' && !downPatchAt.has(key)) downPatchAt.set(key, Date.parse(p.requestReceivedTimestamp));
        }
        // What `kubectl get uc` shows: any patch carrying state down (also a late pending → up transition's
        // patch, which shows the check's current row); and the Down transition itself applied (its Event written).
        const shownDown = flipDown.rows.flatMap((r) => {
          const patched = downPatchAt.get(`${r.namespace}/${r.name}`);
          return patched === undefined ? [] : [(patched - flippedAt) / 1000];
        });
        const appliedLatencies = flipDown.rows.flatMap((r) => (r.applied && r.applied.getTime() <= windowEnd ? [(r.applied.getTime() - r.created.getTime()) / 1000] : []));
        const delta = (key: string) => (countsAfter.get(key) ?? 0) - (countsBefore.get(key) ?? 0);
        const budgetWaitCalls = metric(alerterMetrics, 'vigil_alerter_patch_budget_wait_seconds_count');
        const budget: BudgetFigures = {
          windowS,
          statusPatches: patches.length,
          eventWrites: eventWrites.length,
          statusPatchesPerS: patches.length / windowS,
          eventWritesPerS: eventWrites.length / windowS,
          apiCallsPerS: entries.length / windowS,
          apiCallsPerSAfterBurst: steady.length / (windowS - 5),
          busiestSecond: busiest(times, 1000),
          busiestSteady5sPerS: busiest(steady, 5000) / 5,
          apiserverStatusPatches: delta('PATCH uptimechecks/status'),
          apiserverEventWrites: delta('POST events') + delta('PATCH events') + delta('PUT events'),
          auditStatusPatchesAll: allEntries.filter(isStatusPatch).length,
          auditEventWritesAll: allEntries.filter(isEventWrite).length,
          budgetWaitMeanMs: (metric(alerterMetrics, 'vigil_alerter_patch_budget_wait_seconds_sum') / budgetWaitCalls) * 1000,
          budgetWaitCalls,
          checksProbed: db1.rows[0]!.probed,
          transitions: db1.rows[0]!.transitions,
          transitionsApplied: db1.rows[0]!.applied,
          checksWithStatus: firstStatus.size,
          newStatusesPerSSteady,
          // All done in the window: when the last one got its status; else the window plus the rest at the second half's pace.
          extrapolatedAllMin:
            firstStatus.size === CHECKS ? (Math.max(...firstStatus.values()) - windowStart) / 60_000 : (windowS + (CHECKS - firstStatus.size) / newStatusesPerSSteady) / 60,
          backlogAtFlip: backlog.rows[0]!.n,
          flipDownTransitions: flipDown.rows.length,
          flipDetectP50S: percentile(flipDown.rows.map((r) => (r.created.getTime() - flippedAt) / 1000), 50),
          flipShownDown: shownDown.length,
          flipToShownDownP50S: percentile(shownDown, 50),
          flipDownApplied: appliedLatencies.length,
          flipAppliedLatencyP50S: percentile(appliedLatencies, 50),
          flipAppliedLatencyMaxS: percentile(appliedLatencies, 100),
          alerterCpuS,
          alerterRssMiB,
          proberCpuS,
        };
        return { ...sync, ...budget };
      } finally {
        flipTarget.set(UP);
        // The alerter first, so nothing is patched while the others stop.
        for (const service of [...started].reverse()) await service.stop();
        await pool.end();
        await db.drop();
      }
    });

    const seconds = (value: number) => (Number.isFinite(value) ? `${value.toFixed(1)} s` : '—');
    const col = <K extends keyof RunFigures>(key: K) => runs.map((r) => r[key] as number);
    const median = (key: keyof RunFigures) => percentile(col(key), 50);
    const countsAgree = runs.every((r) => r.auditStatusPatchesAll === r.apiserverStatusPatches && r.auditEventWritesAll === r.apiserverEventWrites);
    const markdown = [
      `${CHECKS.toLocaleString('en-US')} UptimeChecks in ${NAMESPACES} namespaces on a real kube-apiserver (RBAC on, audit log) and Postgres; the built services with the chart's ServiceAccounts. Set-up (not a figure): creating them took ${createSeconds.toFixed(1)} s with ${CREATORS} clients. ${runs.length} run(s), each on a fresh database.`,
      '',
      '**Watcher initial sync** (empty `checks` table, all namespaces):',
      '',
      spreadTable([
        { label: 'process start → ready (list committed)', unit: 's', runs: col('startToReadyS'), digits: 2, goal: '' },
        { label: 'leader elected → all rows committed', unit: 's', runs: col('leaderToCommittedS'), digits: 2 },
        { label: 'paged list (500 per page)', unit: 's', runs: col('listS'), digits: 2 },
        { label: 'list → rows committed', unit: 's', runs: col('listToCommittedS'), digits: 2 },
        { label: 'RSS after sync', unit: 'MiB', runs: col('rssAfterSyncMiB') },
        { label: 'RSS of the same process mirroring 0 checks', unit: 'MiB', runs: col('idleRssMiB') },
        { label: 'peak RSS (VmHWM)', unit: 'MiB', runs: col('peakRssMiB') },
        { label: 'JS heap used after sync', unit: 'MiB', runs: col('heapUsedMiB') },
      ]),
      '',
      `**Status patches against the budget** (alerter defaults: STATUS_PATCH_QPS ${BUDGET_QPS}, STATUS_REFRESH_PERIOD 60s; checks every ${INTERVAL}; ${WINDOW_S} s window from the alerter's readiness; counted in the API server's audit log):`,
      '',
      spreadTable([
        { label: 'status patches / s', unit: '', runs: col('statusPatchesPerS'), digits: 2 },
        { label: 'Event writes / s', unit: '', runs: col('eventWritesPerS'), digits: 2 },
        { label: 'status patches + Event writes / s, whole window', unit: '', runs: col('apiCallsPerS'), digits: 2, goal: `${BUDGET_QPS} + burst/window` },
        { label: '… after the first 5 s (burst spent)', unit: '', runs: col('apiCallsPerSAfterBurst'), digits: 2, goal: `≤ ${BUDGET_QPS}` },
        { label: 'busiest second (burst included)', unit: 'calls', runs: col('busiestSecond'), digits: 0, goal: `≈ ${2 * BUDGET_QPS} (burst + 1 s refill)` },
        { label: 'busiest 5 s after the burst, per s', unit: '', runs: col('busiestSteady5sPerS'), digits: 1, goal: `≤ ${BUDGET_QPS}` },
        { label: 'status patches in the window (audit log)', unit: '', runs: col('statusPatches'), digits: 0 },
        { label: 'Event writes in the window (audit log)', unit: '', runs: col('eventWrites'), digits: 0 },
        { label: 'status patches, alerter start → stop: audit log', unit: '', runs: col('auditStatusPatchesAll'), digits: 0 },
        { label: '… the same counted by apiserver_request_total', unit: '', runs: col('apiserverStatusPatches'), digits: 0 },
        { label: 'Event writes, alerter start → stop: audit log', unit: '', runs: col('auditEventWritesAll'), digits: 0 },
        { label: '… the same counted by apiserver_request_total', unit: '', runs: col('apiserverEventWrites'), digits: 0 },
        { label: 'budget wait per API call (alerter histogram, mean)', unit: 'ms', runs: col('budgetWaitMeanMs') },
        { label: 'checks probed (state known) at window end', unit: '', runs: col('checksProbed'), digits: 0 },
        { label: 'transitions recorded', unit: '', runs: col('transitions'), digits: 0 },
        { label: '… of which shown in status (applied)', unit: '', runs: col('transitionsApplied'), digits: 0 },
        { label: 'checks given a status in the window', unit: '', runs: col('checksWithStatus'), digits: 0 },
        { label: 'new statuses / s (second half of the window)', unit: '', runs: col('newStatusesPerSSteady'), digits: 2 },
        { label: `extrapolated: all ${CHECKS.toLocaleString('en-US')} have a status after`, unit: 'min', runs: col('extrapolatedAllMin'), digits: 1 },
        { label: 'alerter CPU in the window', unit: 's', runs: col('alerterCpuS'), digits: 1 },
        { label: 'alerter RSS at window end', unit: 'MiB', runs: col('alerterRssMiB') },
        { label: 'prober CPU in the window', unit: 's', runs: col('proberCpuS'), digits: 1 },
      ]),
      '',
      `**State changes during the backlog** (${FLIPPED} of the checks, probed every ${FLIP_INTERVAL} so their change shows within the window, have their target turn 503 at ${FLIP_AFTER_S} s):`,
      '',
      table(
        ['run', 'transitions waiting at the flip', 'Down transitions recorded', 'flip → transition p50', 'status shows down', 'flip → shown p50', 'Down transitions applied (Event)', 'transition → applied p50 / max'],
        runs.map((r, i) => [
          String(i + 1),
          String(r.backlogAtFlip),
          `${r.flipDownTransitions}/${FLIPPED}`,
          seconds(r.flipDetectP50S),
          `${r.flipShownDown}/${FLIPPED}`,
          seconds(r.flipToShownDownP50S),
          `${r.flipDownApplied}/${r.flipDownTransitions}`,
          r.flipDownApplied > 0 ? `${seconds(r.flipAppliedLatencyP50S)} / ${seconds(r.flipAppliedLatencyMaxS)}` : 'none in the window',
        ]),
      ),
      '',
      `Reading: once the one-second burst was spent, the API server saw ${median('apiCallsPerSAfterBurst').toFixed(2)} status patches + Event writes per second (median) against a budget of ${BUDGET_QPS}/s; the audit log and apiserver_request_total ${countsAgree ? 'agree in every run' : 'differ (see the rows above)'}. ` +
        `That is the budget's intended trade-off: the API server is protected, so a fresh install of ${CHECKS.toLocaleString('en-US')} checks takes about ${median('extrapolatedAllMin').toFixed(0)} min until every check shows a status ` +
        `(each first probe is a pending → up transition: one status patch plus one \`Up\` Event, two budget tokens per check). ` +
        `Changes of state go ahead of that backlog of first results (the alerter applies them first): ${median('flipDownApplied')} of ${FLIPPED} Down transitions (median) were applied within the window; the prober recorded them ${median('flipDetectP50S').toFixed(1)} s after the flip (median), and ${FLIPPED} changes at once are ${FLIPPED * 2} budget tokens, so the last waits about ${(FLIPPED * 2) / 10} s at the default budget (table above).`,
    ].join('\n');
    await publish({ name: 'kubernetes-load', command: COMMAND, markdown, raw: { createSeconds, checks: CHECKS, windowSeconds: WINDOW_S, flipAfterSeconds: FLIP_AFTER_S, flipped: FLIPPED, interval: INTERVAL, runs }, machine: info });
    finished = true;
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => log(`cleanup failed: ${(err as Error).message}`));
    // The services' logs stay for a look when something failed.
    if (finished) await rm(dir, { recursive: true, force: true });
    else log(`logs kept in ${logDir}`);
  }
}

runBenchmark(main);
