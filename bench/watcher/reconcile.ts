// Reconcile latency (issue 10, item 3; goal P3 ≤ 1 s): `kubectl apply` / edit /
// `kubectl delete` of an UptimeCheck → its effect in vigil.checks, and a new
// check's first stored probe result. Run by hand, never by `make test`:
//
//   nx run watcher:build && nx run prober:build
//   node bench/watcher/reconcile.ts [--runs 3] [--ops 60] [--gap-ms 100] [--quick: 1 run of 10]
//
// One real stack serves every run: etcd + kube-apiserver (RBAC on), Postgres,
// the chart's CRD and RBAC, the built watcher (its chart ServiceAccount token)
// and one built prober (no Kubernetes access, as shipped), a plain HTTP target
// on 127.0.0.1. Each run works in a fresh namespace: `ops` creates (each waits
// for its row and its first result), then `ops` edits, then `ops` deletes, one
// at a time with `gap-ms` between them, every one by the real kubectl binary.
// Each effect is timed from the moment kube-apiserver completed the write (its
// audit log, bench/lib/kube-audit.ts), and kubectl's own wall time is reported
// beside it.
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { CHANNELS } from '@vigil/contracts';
import { createPool, migrate, type Pool } from '@vigil/db';
import { UPTIME_CHECK } from '@vigil/k8s';
import { ControlPlane, HttpTarget, freePort, installChartBasics, startControlPlaneAndPostgres, startService, waitForReady, type ServiceProcess } from '@vigil/testing';
import { auditArgs, auditEvents, type AuditEvent } from '../lib/kube-audit.ts';
import { distribution, log, machine, publish, repeat, runsFromArgs, spreadTable, table, type SpreadRow, runBenchmark } from '../lib/report.ts';

const RELEASE_NAMESPACE = 'vigil';
/** How long the observer sleeps when no NOTIFY wakes it (a missed NOTIFY costs at most this). */
const BACKSTOP_MS = 50;
const EFFECT_TIMEOUT_MS = 30_000;
/**
 * The prober writes results in batches every RESULT_FLUSH_INTERVAL (default 500 ms). Creates
 * done back to back would start each probe at the same point of that period (each waits for
 * the previous result, written at a flush), so a random extra pause of up to one period
 * spreads them over it evenly.
 */
const FLUSH_PERIOD_MS = 500;

function numberArg(flag: string, fallback: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${flag} needs a non-negative integer, got ${process.argv[i + 1]}`);
  return value;
}

const quick = process.argv.includes('--quick');
const runs = quick && !process.argv.includes('--runs') ? 1 : runsFromArgs();
const ops = numberArg('--ops', quick ? 10 : 60);
const gapMs = numberArg('--gap-ms', 100);

/** Wall-clock epoch milliseconds with sub-millisecond resolution, comparable with the services' timestamps. */
const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Stack {
  plane: ControlPlane;
  /** kube-apiserver's audit log of UptimeCheck writes: when each write was accepted. */
  auditLog: string;
  databaseUrl: string;
  pool: Pool;
  target: HttpTarget;
  services: ServiceProcess[];
  stop(): Promise<void>;
}

/** The chart's CRD and RBAC (rendered by the built helm) and a token kubeconfig of the watcher's ServiceAccount. */
async function installChart(plane: ControlPlane): Promise<string> {
  const account = (await installChartBasics(plane, RELEASE_NAMESPACE)).get('watcher');
  if (!account) throw new Error('the chart renders no ServiceAccount for the watcher');
  return plane.writeTokenKubeconfig(await plane.tokenFor(RELEASE_NAMESPACE, account, 24 * 3600), 'sa-watcher');
}

async function startStack(logDir: string): Promise<Stack> {
  const audit = await auditArgs(logDir, [{ group: UPTIME_CHECK.group, resource: UPTIME_CHECK.plural }]);
  const { plane, postgres } = await startControlPlaneAndPostgres({ apiServerArgs: audit.args });
  const started: ServiceProcess[] = [];
  let pool: Pool | undefined;
  let target: HttpTarget | undefined;
  const stop = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await target?.stop();
    await pool?.end();
    await plane.stop();
    await postgres.destroy();
  };
  try {
    const db = await postgres.createDatabase('vigil');
    pool = createPool({ connectionString: db.url, applicationName: 'bench-reconcile', max: 4 });
    await migrate(pool);
    const watcherKubeconfig = await installChart(plane);
    // The target answers 200 at once; it shares this process, which is idle while a probe runs.
    target = await HttpTarget.start({ host: '127.0.0.1' });
    // Default settings (LOG_LEVEL info, RESULT_FLUSH_INTERVAL 500 ms, all namespaces watched): the figures are the product's.
    const common = { DATABASE_URL: db.url, POD_NAMESPACE: RELEASE_NAMESPACE };
    const watcher = await startService('watcher', { ...common, KUBECONFIG: watcherKubeconfig, POD_NAME: 'watcher-0' }, { opsPort: await freePort(), logDir, instance: 'watcher-0' });
    started.push(watcher);
    const prober = await startService('prober', { ...common, POD_NAME: 'prober-0', SSRF_ALLOW_CIDRS: '127.0.0.1/32' }, { opsPort: await freePort(), logDir, instance: 'prober-0' });
    started.push(prober);
    await Promise.all(started.map((s) => waitForReady(s, 90_000)));
    return { plane, auditLog: audit.logPath, databaseUrl: db.url, pool, target, services: started, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Sees effects in Postgres as soon as they are committed: a LISTEN connection
 * on vigil_checks (watcher) and vigil_status (prober result batches) wakes
 * every waiter, which re-queries the table (the NOTIFY is only a wake-up);
 * without a wake-up it re-queries every BACKSTOP_MS.
 */
class Observer {
  private readonly waiters = new Set<() => void>();
  notifications = 0;

  private readonly listener: pg.Client;

  private constructor(listener: pg.Client) {
    this.listener = listener;
    listener.on('notification', () => {
      this.notifications++;
      for (const wake of [...this.waiters]) wake();
    });
  }

  static async start(databaseUrl: string): Promise<Observer> {
    const listener = new pg.Client({ connectionString: databaseUrl, application_name: 'bench-reconcile-listen' });
    await listener.connect();
    await listener.query(`LISTEN ${CHANNELS.checks}`);
    await listener.query(`LISTEN ${CHANNELS.status}`);
    return new Observer(listener);
  }

  /** Epoch ms at which `holds` first answered true (the end of that query: a slight over-estimate). */
  async when(what: string, holds: () => Promise<boolean>): Promise<number> {
    const deadline = Date.now() + EFFECT_TIMEOUT_MS;
    for (;;) {
      let wake!: () => void;
      // Armed before the query, so a NOTIFY arriving during it is not lost.
      const woken = new Promise<void>((resolve) => {
        const timer = setTimeout(() => wake(), BACKSTOP_MS);
        wake = () => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          resolve();
        };
        this.waiters.add(wake);
      });
      if (await holds()) {
        const at = now();
        wake();
        return at;
      }
      if (Date.now() > deadline) {
        wake();
        throw new Error(`timed out after ${EFFECT_TIMEOUT_MS} ms waiting for ${what}`);
      }
      await woken;
    }
  }

  async stop(): Promise<void> {
    await this.listener.end();
  }
}

interface KubectlRun {
  /** Epoch ms just before spawning kubectl, and when its process exited. */
  invoked: number;
  exited: number;
}

function kubectl(plane: ControlPlane, cacheDir: string, args: string[]): Promise<KubectlRun> {
  return new Promise((resolve, reject) => {
    const invoked = now();
    const child = spawn(join(plane.binDir, 'kubectl'), ['--cache-dir', cacheDir, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: cacheDir, KUBECONFIG: plane.kubeconfigPath },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const exited = now();
      if (code === 0) resolve({ invoked, exited });
      else reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr.trim()}`));
    });
  });
}

function manifest(namespace: string, name: string, url: string): string {
  return JSON.stringify({ apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name, namespace }, spec: { url } }, null, 2);
}

type OpKind = 'create' | 'edit' | 'delete';
const AUDIT_VERB: Record<OpKind, string> = { create: 'create', edit: 'patch', delete: 'delete' };

/** One kubectl operation and when its effects were seen (epoch ms). */
interface Operation extends KubectlRun {
  kind: OpKind;
  namespace: string;
  name: string;
  /** The row appeared / reached generation 2 / was gone. */
  seen: number;
  /** For a create: the first stored result, its probe's start and duration. */
  result?: { seen: number; started: number; totalMs: number };
}

/** Samples of one run, in ms, by series. */
type Series =
  | 'createRow'
  | 'firstResult'
  | 'editRow'
  | 'deleteRow'
  | 'createRowE2e'
  | 'firstResultE2e'
  | 'editRowE2e'
  | 'deleteRowE2e'
  | 'kubectlCreate'
  | 'kubectlEdit'
  | 'kubectlDelete'
  | 'apiWrite'
  | 'rowToProbeStart'
  | 'probeStartToStored'
  | 'probeTotal';

interface Scenario {
  stack: Stack;
  observer: Observer;
  dir: string;
  cacheDir: string;
}

/** `count` checks: each created (waiting for its row and first result), then each edited, then each deleted, one at a time. */
async function scenario(s: Scenario, namespace: string, count: number): Promise<Operation[]> {
  const { plane, pool, target } = s.stack;
  const createNamespace = await plane.kubectl(['create', 'namespace', namespace]);
  if (createNamespace.code !== 0) throw new Error(`kubectl create namespace ${namespace}: ${createNamespace.stderr}`);
  const row = async (name: string) =>
    (await pool.query<{ generation: number | string }>(`SELECT generation FROM vigil.checks WHERE namespace = $1 AND name = $2`, [namespace, name])).rows[0];
  const firstResult = async (name: string) =>
    (
      await pool.query<{ started: number; total_ms: number }>(
        `SELECT extract(epoch FROM r.started_at) * 1000 AS started, r.total_ms
           FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
          WHERE c.namespace = $1 AND c.name = $2 ORDER BY r.started_at LIMIT 1`,
        [namespace, name],
      )
    ).rows[0];
  const names = Array.from({ length: count }, (_, i) => `check-${i}`);
  const file = (name: string, edited: boolean) => join(s.dir, `${namespace}-${name}${edited ? '-edited' : ''}.json`);
  for (const name of names) {
    await writeFile(file(name, false), manifest(namespace, name, target.url(`/${namespace}/${name}`)));
    await writeFile(file(name, true), manifest(namespace, name, target.url(`/${namespace}/${name}?edited`)));
  }
  const operations: Operation[] = [];

  for (const name of names) {
    // The observers start before kubectl, so an effect that beats kubectl's exit is seen when it happens.
    const rowSeen = s.observer.when(`the row of ${name}`, async () => (await row(name)) !== undefined);
    const resultSeen = s.observer.when(`the first result of ${name}`, async () => (await firstResult(name)) !== undefined);
    const run = await kubectl(plane, s.cacheDir, ['apply', '-f', file(name, false)]);
    const [seen, resultAt] = await Promise.all([rowSeen, resultSeen]);
    const result = (await firstResult(name))!;
    operations.push({ kind: 'create', namespace, name, ...run, seen, result: { seen: resultAt, started: Number(result.started), totalMs: result.total_ms } });
    await sleep(gapMs + Math.random() * FLUSH_PERIOD_MS);
  }
  for (const name of names) {
    const rowSeen = s.observer.when(`generation 2 of ${name}`, async () => Number((await row(name))?.generation) === 2);
    const run = await kubectl(plane, s.cacheDir, ['apply', '-f', file(name, true)]);
    operations.push({ kind: 'edit', namespace, name, ...run, seen: await rowSeen });
    await sleep(gapMs);
  }
  for (const name of names) {
    const goneSeen = s.observer.when(`the row of ${name} to go`, async () => (await row(name)) === undefined);
    const run = await kubectl(plane, s.cacheDir, ['delete', '-n', namespace, 'uptimecheck', name]);
    operations.push({ kind: 'delete', namespace, name, ...run, seen: await goneSeen });
    await sleep(gapMs);
  }
  return operations;
}

/** Each operation's series samples, timed from the API server's acceptance of its write (audit log). */
async function samplesOf(operations: readonly Operation[], auditLog: string) {
  const key = (verb: string, namespace: string, name: string) => `${verb} ${namespace}/${name}`;
  let accepted = new Map<string, AuditEvent>();
  // The log is written as requests complete; give the last few a moment to land.
  for (let attempt = 0; ; attempt++) {
    accepted = new Map((await auditEvents(auditLog)).filter((e) => e.code < 300).map((e) => [key(e.verb, e.namespace, e.name), e]));
    if (operations.every((op) => accepted.has(key(AUDIT_VERB[op.kind], op.namespace, op.name)))) break;
    if (attempt === 20) throw new Error('the audit log lacks some of the writes');
    await sleep(100);
  }
  const samples = Object.fromEntries(
    (['createRow', 'firstResult', 'editRow', 'deleteRow', 'createRowE2e', 'firstResultE2e', 'editRowE2e', 'deleteRowE2e', 'kubectlCreate', 'kubectlEdit', 'kubectlDelete', 'apiWrite', 'rowToProbeStart', 'probeStartToStored', 'probeTotal'] as const).map((k) => [k, [] as number[]]),
  ) as Record<Series, number[]>;
  const counts = { effects: 0, beforeAccepted: 0, beforeKubectlExit: 0 };
  const fromAccepted = (seen: number, at: number, op: Operation) => {
    counts.effects++;
    if (seen < op.exited) counts.beforeKubectlExit++;
    if (seen < at) counts.beforeAccepted++;
    return Math.max(0, seen - at);
  };
  for (const op of operations) {
    const write = accepted.get(key(AUDIT_VERB[op.kind], op.namespace, op.name))!;
    samples.apiWrite.push(write.completed - write.received);
    const kind = op.kind === 'create' ? 'Create' : op.kind === 'edit' ? 'Edit' : 'Delete';
    samples[`kubectl${kind}`].push(op.exited - op.invoked);
    const rowSeries = op.kind === 'create' ? 'createRow' : op.kind === 'edit' ? 'editRow' : 'deleteRow';
    samples[rowSeries].push(fromAccepted(op.seen, write.completed, op));
    samples[`${rowSeries}E2e`].push(op.seen - op.invoked);
    if (op.result) {
      samples.firstResult.push(fromAccepted(op.result.seen, write.completed, op));
      samples.firstResultE2e.push(op.result.seen - op.invoked);
      samples.rowToProbeStart.push(op.result.started - op.seen);
      samples.probeStartToStored.push(op.result.seen - op.result.started);
      samples.probeTotal.push(op.result.totalMs);
    }
  }
  return { samples, counts };
}

/** Per-run p50, p99 and max of each series: what the spread tables sum up. */
function figures(samples: Record<Series, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, values] of Object.entries(samples)) {
    const d = distribution(values);
    out[`${series}.p50`] = round(d.p50);
    out[`${series}.p99`] = round(d.p99);
    out[`${series}.max`] = round(d.max);
  }
  return out;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

async function main(): Promise<void> {
  const before = machine();
  const command = `node bench/watcher/reconcile.ts${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-reconcile-'));
  const started = Date.now();
  log(`starting the stack (logs in ${dir})`);
  const stack = await startStack(dir);
  let observer: Observer | undefined;
  let succeeded = false;
  try {
    log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s: watcher, prober, target ${stack.target.url()}`);
    observer = await Observer.start(stack.databaseUrl);
    const s: Scenario = { stack, observer, dir, cacheDir: join(dir, 'kube-cache') };
    // Untimed warm-up: fills kubectl's discovery cache (as on any workstation) and warms the services' code paths.
    await scenario(s, 'warm-up', 2);
    const all: Array<{ samples: Record<Series, number[]>; counts: { effects: number; beforeAccepted: number; beforeKubectlExit: number } }> = [];
    const results = await repeat(runs, async (run) => {
      const runStarted = Date.now();
      const operations = await scenario(s, `run-${run}`, ops);
      const seconds = round((Date.now() - runStarted) / 1000);
      const measured = await samplesOf(operations, stack.auditLog);
      all.push(measured);
      return { seconds, ...measured.counts, ...figures(measured.samples) };
    });
    const perRun = (key: string) => results.map((r) => (r as Record<string, number>)[key]!);
    const P3 = '≤ 1,000 ms (P3)';
    const row = (label: string, series: Series, p: 'p50' | 'p99', goal?: string): SpreadRow => ({ label: `${label} ${p}`, unit: 'ms', runs: perRun(`${series}.${p}`), goal: p === 'p99' ? goal : undefined });
    const latencyTable = spreadTable([
      row('apply (new) → row in vigil.checks', 'createRow', 'p50'),
      row('apply (new) → row in vigil.checks', 'createRow', 'p99', P3),
      row('apply (new) → first stored probe result', 'firstResult', 'p50'),
      row('apply (new) → first stored probe result', 'firstResult', 'p99', P3),
      row('apply (edit) → row at the new generation', 'editRow', 'p50'),
      row('apply (edit) → row at the new generation', 'editRow', 'p99', P3),
      row('delete → row gone', 'deleteRow', 'p50'),
      row('delete → row gone', 'deleteRow', 'p99', P3),
    ]);
    const withKubectl = spreadTable([
      row('kubectl apply (new), wall time', 'kubectlCreate', 'p50'),
      row('kubectl apply (edit), wall time', 'kubectlEdit', 'p50'),
      row('kubectl delete, wall time', 'kubectlDelete', 'p50'),
      row('API server: write request received → response complete', 'apiWrite', 'p50'),
      row('kubectl invoked → row (new)', 'createRowE2e', 'p99'),
      row('kubectl invoked → first stored result', 'firstResultE2e', 'p99'),
      row('kubectl invoked → row (edit)', 'editRowE2e', 'p99'),
      row('kubectl invoked → row gone', 'deleteRowE2e', 'p99'),
    ]);
    const breakdown = spreadTable([
      row('row committed → probe started (NOTIFY wakes the claim)', 'rowToProbeStart', 'p50'),
      row('row committed → probe started (NOTIFY wakes the claim)', 'rowToProbeStart', 'p99'),
      row('probe started → result stored (probe + batch wait + write)', 'probeStartToStored', 'p50'),
      row('probe started → result stored (probe + batch wait + write)', 'probeStartToStored', 'p99'),
      row('the probe itself (total_ms)', 'probeTotal', 'p50'),
    ]);
    const median = (key: string) => [...perRun(key)].sort((a, b) => a - b)[Math.floor((runs - 1) / 2)]!;
    const total = (count: 'effects' | 'beforeAccepted' | 'beforeKubectlExit') => all.reduce((n, r) => n + r.counts[count], 0);
    const markdown = [
      `Method: one stack for all runs — etcd + kube-apiserver (RBAC on), Postgres, the chart's CRD and RBAC, the built watcher with its chart ServiceAccount token (all namespaces), one built prober (no Kubernetes access, as shipped; default RESULT_FLUSH_INTERVAL 500 ms), a plain HTTP target on 127.0.0.1. ` +
        `Per run, in a fresh namespace: ${ops} \`kubectl apply -f\` of new checks (each waits for its row and its first result), then ${ops} edits (\`kubectl apply -f\` of a changed url: generation 2), then ${ops} \`kubectl delete\`, one at a time with ${gapMs} ms between them (creates: plus a random 0–${FLUSH_PERIOD_MS} ms, so their probes do not phase-lock to the prober's 500 ms result flush), by the real kubectl (admin kubeconfig, warm discovery cache; one untimed warm-up cycle first). p50/p99 are per run (nearest rank: with ${ops} samples, p99 is ${ops < 100 ? "the run's largest" : 'a high'} sample), then median/min/max over the runs.`,
      '',
      `**Timed from the API server's acceptance of the write**: the \`ResponseComplete\` time of the create/patch/delete in kube-apiserver's audit log (microseconds, same clock). Not from kubectl's exit: kubectl exits after the write's response *and*, for \`delete\`, after waiting for the object to be gone, so ${total('beforeKubectlExit')} of ${total('effects')} effects were already in Postgres when kubectl exited; kubectl's start, discovery and GET-before-write (its wall time, below) is the client, not Vigil. ` +
        `Effects are seen by a client that LISTENs on \`vigil_checks\` and \`vigil_status\` and re-queries the tables on each NOTIFY (${BACKSTOP_MS} ms polling as a backstop), so a figure includes the watcher's or prober's commit and the NOTIFY. (${total('beforeAccepted')} of ${total('effects')} effects were seen before the audit time and count as 0 ms.)`,
      '',
      latencyTable,
      '',
      'The client side, and end to end from invoking kubectl (what a user at a terminal waits):',
      '',
      withKubectl,
      '',
      "Where the first result's time goes (probe start from `probe_results.started_at`, same clock):",
      '',
      breakdown,
      '',
      `The first stored result is dominated by the prober's result batch: a finished probe waits in memory for the next flush (RESULT_FLUSH_INTERVAL, default 500 ms, so 0–500 ms): median p50 ${median('probeStartToStored.p50')} ms from probe start to stored, of which the probe itself is ${median('probeTotal.p50')} ms. The watcher's row (median p50 ${median('createRow.p50')} ms after the API server accepted the create) and the claim its NOTIFY wakes (${median('rowToProbeStart.p50')} ms) are small.`,
      '',
      table(
        ['run', 'seconds', 'new → row p99', 'new → first result p99', 'edit → row p99', 'delete → gone p99'],
        results.map((r, i) => {
          const f = r as Record<string, number>;
          return [String(i + 1), f.seconds!, f['createRow.p99']!, f['firstResult.p99']!, f['editRow.p99']!, f['deleteRow.p99']!];
        }),
      ),
    ].join('\n');
    await publish({ name: 'reconcile-latency', command, markdown, raw: { ops, gapMs, runs: results, samples: all.map((r) => r.samples) }, machine: before });
    log(`whole benchmark: ${((Date.now() - started) / 1000).toFixed(0)} s`);
    succeeded = true;
  } finally {
    await observer?.stop();
    await stack.stop();
    // The services' logs are kept when a run failed.
    if (succeeded) await rm(dir, { recursive: true, force: true });
    else log(`service logs kept in ${dir}`);
  }
}

runBenchmark(main);
