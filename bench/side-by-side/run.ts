// Side by side (issue 10 item 6): the same local HTTP targets monitored by
// Vigil's prober and by Uptime Kuma at the same interval, in the same run of
// this command, measured the same way. Gatus is named but cannot be built here
// (the Go module proxy refuses it); the published section says so. Not part of
// `make test`. From the repository root, after `nx run prober:build`:
//
//   node bench/side-by-side/run.ts            # 1,000 targets × 20 s, 3 runs (about 9 min)
//   node bench/side-by-side/run.ts --quick    # 200 targets, 1 run, shorter window (while developing)
//   node bench/side-by-side/run.ts --targets 500 --warmup 20 --seconds 40 --runs 1
//   node bench/side-by-side/run.ts --render    # re-publish the last results (bench/results/side-by-side.json) without measuring
//
// Each run measures the two monitors one after the other (never at once: on 2
// cores they would compete for the same CPU), alternating which goes first.
// One Go target (target/, native, so it does not eat the monitors' CPU) serves
// every run and records when each request arrived per path: lateness is taken
// from those arrival times, so neither monitor is asked when it thinks it probed.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, WORKSPACE_ROOT, freePort, startService, waitForReady } from '@vigil/testing';
import { shippedProberNodeOptions } from '../lib/chart-values.ts';
import { RESULTS_DIR, cpuSeconds, log, machine, publish, repeat, rssBytes, spreadTable, table, type Machine, type SpreadRow, runBenchmark } from '../lib/report.ts';
import { KUMA_MIN_INTERVAL_S, KUMA_VERSION, addKumaMonitors, ensureKuma, kumaCacheDir, startKuma } from './kuma.ts';

/** The prober's shipped NODE_OPTIONS (charts/vigil/values.yaml `prober.nodeOptions`). */
const PROBER_NODE_OPTIONS = await shippedProberNodeOptions();
/** Gatus's module path for v5 (its current major) and before. */
const GATUS_MODULES = ['github.com/TwiN/gatus/v5', 'github.com/TwiN/gatus'];

const { values } = parseArgs({
  options: {
    targets: { type: 'string', default: '1000' },
    interval: { type: 'string', default: String(KUMA_MIN_INTERVAL_S) },
    warmup: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '60' },
    runs: { type: 'string', default: '3' },
    quick: { type: 'boolean', default: false },
    render: { type: 'boolean', default: false },
  },
});
const given = (name: string) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const pick = (name: 'targets' | 'warmup' | 'seconds' | 'runs', quick: string) => Number(values.quick && !given(name) ? quick : values[name]!);
const targetCount = pick('targets', '200');
const intervalS = Number(values.interval);
const warmupMs = pick('warmup', '20') * 1000;
const windowMs = pick('seconds', '40') * 1000;
const runs = pick('runs', '1');
if (intervalS < KUMA_MIN_INTERVAL_S) throw new Error(`--interval must be ≥ ${KUMA_MIN_INTERVAL_S} s, Uptime Kuma's minimum`);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer`);
const intervalMs = intervalS * 1000;
// Lateness needs at least two arrivals per target inside the window.
if (windowMs < 2 * intervalMs) throw new Error(`--seconds must be at least 2 × --interval (${2 * intervalS})`);
const timeoutS = 10;

type Tool = 'vigil' | 'kuma';
const TOOL_NAME: Record<Tool, string> = { vigil: 'Vigil prober', kuma: `Uptime Kuma ${KUMA_VERSION}` };

interface PhaseFigures {
  probes: number;
  probesPerSecond: number;
  /** Probes seen at the target / probes due in the window. */
  completedShare: number;
  latenessP50Ms: number;
  latenessP99Ms: number;
  latenessMaxMs: number;
  gapP50Ms: number;
  gapP99Ms: number;
  /** TCP connections the target accepted per probe: 1 = a fresh connection per probe, near 0 = keep-alive reuse. */
  newConnectionsPerProbe: number;
  /** CPU of the monitor's own process tree. */
  cpuSecondsPer1000Probes: number;
  /** The same plus the database it writes to when that is another process (Vigil's Postgres; Kuma's SQLite is in-process). */
  cpuSecondsPer1000ProbesWithDatabase: number;
  cpuCoresUsed: number;
  peakRssMiB: number;
  /** Processes in the monitor's tree at the end of the window (Kuma: to show whether it spawned any). */
  processes: number;
  /** Seconds from start to all monitors configured (Kuma: start + setup + import; Vigil: database rows + start + ready). */
  setupSeconds: number;
}

type RunFigures = Record<Tool, PhaseFigures>;

// --- processes --------------------------------------------------------------

async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(tasks.map((t) => readFile(`/proc/${pid}/task/${t}/children`, 'utf8').catch(() => '')));
  return lists.flatMap((l) => l.split(' ').filter(Boolean).map(Number));
}

/** A process and all its descendants alive now. */
async function processTree(pid: number): Promise<number[]> {
  const children = await childrenOf(pid);
  return [pid, ...(await Promise.all(children.map(processTree))).flat()];
}

const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
const treeCpu = async (pid: number) => sum(await Promise.all((await processTree(pid)).map((p) => cpuSeconds(p).catch(() => 0))));
const treeRss = async (pid: number) => sum(await Promise.all((await processTree(pid)).map((p) => rssBytes(p).catch(() => 0))));

/** Peak RSS of a whole process tree (children included), sampled every 500 ms. */
function treeRssSampler(pid: number): { stop: () => number } {
  let peak = 0;
  const timer = setInterval(() => void treeRss(pid).then((rss) => (peak = Math.max(peak, rss)), () => undefined), 500);
  return {
    stop: () => {
      clearInterval(timer);
      return peak;
    },
  };
}

// --- target -------------------------------------------------------------------

interface Target {
  port: number;
  url: (i: number) => string;
  /** Every arrival since the previous call, per path (ms since the epoch), and the TCP connections accepted since; clears both. */
  drain: () => Promise<{ arrivals: Map<string, number[]>; connections: number }>;
  stop: () => void;
}

async function startTarget(workDir: string): Promise<Target> {
  const binary = join(workDir, 'side-by-side-target');
  await promisify(execFile)('go', ['build', '-o', binary, '.'], { cwd: join(WORKSPACE_ROOT, 'bench', 'side-by-side', 'target') });
  const child = spawn(binary, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim().split('\n')[0])));
  });
  return {
    port,
    url: (i) => `http://127.0.0.1:${port}/t/${i}`,
    drain: async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/_arrivals`)).text();
      const arrivals = new Map<string, number[]>();
      let connections = 0;
      for (const line of text.split('\n')) {
        const [key, ...values] = line.split(' ');
        if (key === 'connections') connections = Number(values[0]);
        else if (key) arrivals.set(key, values.map((t) => Number(BigInt(t) / 1000n) / 1000).sort((a, b) => a - b));
      }
      return { arrivals, connections };
    },
    stop: () => child.kill('SIGTERM'),
  };
}

// --- the measurement both monitors share ----------------------------------------

/**
 * Lateness, per target path, of the k-th arrival in the window after the first
 * one: a_k − (a_0 + k × interval). It is the drift from the schedule the first
 * probe set (a monitor that waits "interval after the last probe finished"
 * drifts by its own probe and bookkeeping time every round); a skipped round
 * shows as about −interval. Gap: a_k − a_(k−1) − interval, the jitter of one
 * round. Both are read from the target's clock only.
 */
function lateness(arrivals: Map<string, number[]>): { lateness: number[]; gaps: number[]; probes: number } {
  const late: number[] = [];
  const gaps: number[] = [];
  let probes = 0;
  for (const times of arrivals.values()) {
    probes += times.length;
    for (let k = 1; k < times.length; k++) {
      late.push(times[k]! - (times[0]! + k * intervalMs));
      gaps.push(times[k]! - times[k - 1]! - intervalMs);
    }
  }
  return { lateness: late, gaps, probes };
}

const percentileOf = (values: number[], p: number) => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};

/** Warm-up, then one window: CPU of the monitor's tree (and its database's), its peak RSS, and the target's arrivals. */
async function measure(target: Target, pid: number, databasePid: number | undefined, setupSeconds: number): Promise<PhaseFigures> {
  const rss = treeRssSampler(pid);
  await sleep(warmupMs);
  await target.drain();
  const cpu0 = await treeCpu(pid);
  const db0 = databasePid ? await treeCpu(databasePid) : 0;
  const from = performance.now();
  await sleep(windowMs);
  const cpu1 = await treeCpu(pid);
  const db1 = databasePid ? await treeCpu(databasePid) : 0;
  const { arrivals, connections } = await target.drain();
  const seconds = (performance.now() - from) / 1000;
  const processes = (await processTree(pid)).length;
  const peak = rss.stop();
  const { lateness: late, gaps, probes } = lateness(arrivals);
  const cpu = cpu1 - cpu0;
  return {
    probes,
    probesPerSecond: round(probes / seconds, 1),
    completedShare: round(probes / ((targetCount * seconds * 1000) / intervalMs), 3),
    latenessP50Ms: round(percentileOf(late, 50), 1),
    latenessP99Ms: round(percentileOf(late, 99), 1),
    latenessMaxMs: round(percentileOf(late, 100), 1),
    gapP50Ms: round(percentileOf(gaps, 50), 1),
    gapP99Ms: round(percentileOf(gaps, 99), 1),
    newConnectionsPerProbe: round(connections / probes, 3),
    cpuSecondsPer1000Probes: round((cpu / probes) * 1000, 3),
    cpuSecondsPer1000ProbesWithDatabase: round(((cpu + db1 - db0) / probes) * 1000, 3),
    cpuCoresUsed: round(cpu / seconds, 3),
    peakRssMiB: Math.round(peak / 2 ** 20),
    processes,
    setupSeconds: round(setupSeconds, 1),
  };
}

// --- Vigil --------------------------------------------------------------------

async function insertChecks(pool: Pool, target: Target): Promise<void> {
  const rows = Array.from({ length: targetCount }, (_, i) => ({
    uid: randomUUID(),
    namespace: 'bench',
    name: `t${i}`,
    generation: 1,
    url: target.url(i),
    interval_ms: intervalMs,
    timeout_ms: timeoutS * 1000,
  }));
  // The watcher's function, as a check created in the cluster would be written.
  await pool.query(`SELECT * FROM vigil.upsert_checks($1::jsonb)`, [JSON.stringify(rows)]);
}

async function runVigil(postgres: PostgresServer, postgresPid: number, target: Target, workDir: string, run: number): Promise<PhaseFigures> {
  const started = performance.now();
  const db = await postgres.createDatabase('sbs');
  const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 1 });
  let prober: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    await migrate(pool);
    await insertChecks(pool, target);
    prober = await startService(
      'prober',
      { DATABASE_URL: db.url, POD_NAME: 'sbs', LOG_LEVEL: 'warn', SSRF_ALLOW_CIDRS: '127.0.0.1/32', NODE_OPTIONS: PROBER_NODE_OPTIONS },
      { opsPort: await freePort(), instance: `prober-${run}`, logDir: workDir },
    );
    await waitForReady(prober, 60_000);
    return await measure(target, prober.child.pid!, postgresPid, (performance.now() - started) / 1000);
  } finally {
    await prober?.stop('SIGTERM', 20_000);
    await pool.end();
    await db.drop().catch(() => undefined);
  }
}

/** The postmaster: the parent of any backend (all of this Postgres serves this bench only). */
async function postmasterPid(postgres: PostgresServer): Promise<number> {
  const pool = createPool({ connectionString: postgres.url(), applicationName: 'bench', max: 1 });
  try {
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const stat = await readFile(`/proc/${rows[0]!.pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } finally {
    await pool.end();
  }
}

// --- Uptime Kuma ----------------------------------------------------------------

async function runKuma(packageDir: string, target: Target, workDir: string, run: number): Promise<PhaseFigures> {
  const started = performance.now();
  const kuma = await startKuma(packageDir, join(workDir, `kuma-data-${run}`), await freePort(), join(workDir, `kuma-${run}.log`));
  try {
    await addKumaMonitors(
      packageDir,
      kuma,
      Array.from({ length: targetCount }, (_, i) => ({ name: `t${i}`, url: target.url(i), intervalSeconds: intervalS, timeoutSeconds: timeoutS })),
    );
    return await measure(target, kuma.process.child.pid!, undefined, (performance.now() - started) / 1000);
  } finally {
    // Its data directory is thrown away, so no need to wait for its 2 s graceful shutdown.
    await kuma.process.stop('SIGKILL');
  }
}

// --- Gatus ----------------------------------------------------------------------

interface ModuleAnswer {
  module: string;
  available: boolean;
  answer: string;
}

/** Asks the Go module proxy for Gatus, so the published statement is this run's answer, not a remembered one. */
async function gatusAvailability(): Promise<ModuleAnswer[]> {
  return Promise.all(
    GATUS_MODULES.map(async (module) => {
      try {
        const { stdout } = await promisify(execFile)('go', ['list', '-m', '-json', `${module}@latest`], { cwd: tmpdir(), env: { ...process.env, GOFLAGS: '-mod=mod' }, timeout: 60_000 });
        return { module, available: true, answer: stdout.trim().split('\n').slice(0, 3).join(' ') };
      } catch (err) {
        const stderr = ((err as { stderr?: string }).stderr ?? (err as Error).message).trim();
        return { module, available: false, answer: stderr.replace(/\s+/g, ' ') };
      }
    }),
  );
}

// --- report -------------------------------------------------------------------

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

function rows(tool: Tool, results: RunFigures[]): SpreadRow[] {
  const of = (key: keyof PhaseFigures) => results.map((r) => r[tool][key]);
  const name = TOOL_NAME[tool];
  return [
    { label: `${name}: probes/s at the target`, unit: '', runs: of('probesPerSecond') },
    { label: `${name}: completed share of due probes`, unit: '', runs: of('completedShare'), digits: 3 },
    { label: `${name}: lateness p50`, unit: 'ms', runs: of('latenessP50Ms') },
    { label: `${name}: lateness p99`, unit: 'ms', runs: of('latenessP99Ms') },
    { label: `${name}: lateness max`, unit: 'ms', runs: of('latenessMaxMs') },
    { label: `${name}: round gap − interval p50`, unit: 'ms', runs: of('gapP50Ms') },
    { label: `${name}: round gap − interval p99`, unit: 'ms', runs: of('gapP99Ms') },
    { label: `${name}: new TCP connections per probe`, unit: '', runs: of('newConnectionsPerProbe'), digits: 3 },
    { label: `${name}: CPU s per 1,000 probes (own processes)`, unit: 's', runs: of('cpuSecondsPer1000Probes'), digits: 3 },
    ...(tool === 'vigil' ? [{ label: `${name}: CPU s per 1,000 probes incl. Postgres`, unit: 's', runs: of('cpuSecondsPer1000ProbesWithDatabase'), digits: 3 }] : []),
    { label: `${name}: CPU cores used`, unit: '', runs: of('cpuCoresUsed'), digits: 3 },
    { label: `${name}: peak RSS (process tree)`, unit: 'MiB', runs: of('peakRssMiB') },
    { label: `${name}: setup until monitoring`, unit: 's', runs: of('setupSeconds') },
  ];
}

/** Everything a publication is rendered from; kept as the raw JSON beside it. */
interface Measured {
  targetCount: number;
  intervalMs: number;
  timeoutS: number;
  warmupMs: number;
  windowMs: number;
  minutes: number;
  gatus: ModuleAnswer[];
  kumaVersion: string;
  runs: RunFigures[];
}

const ratio = (a: number, b: number) => (a / b).toFixed(1);

function render(x: Measured): string {
  const m = (tool: Tool, key: keyof PhaseFigures) => median(x.runs.map((r) => r[tool][key]));
  const both = (key: keyof PhaseFigures, digits = 1) => [m('vigil', key).toFixed(digits), m('kuma', key).toFixed(digits)];
  const count = x.targetCount.toLocaleString('en-US');
  const intervalSeconds = x.intervalMs / 1000;
  const overview = table(
    ['figure (median of runs)', TOOL_NAME.vigil, TOOL_NAME.kuma],
    [
      ['probes/s at the target', ...both('probesPerSecond')],
      ['completed share of due probes', ...both('completedShare', 3)],
      ['lateness p50 / p99 / max ms', ...(['vigil', 'kuma'] as Tool[]).map((t) => `${m(t, 'latenessP50Ms')} / ${m(t, 'latenessP99Ms')} / ${m(t, 'latenessMaxMs')}`)],
      ['round gap − interval p50 / p99 ms', ...(['vigil', 'kuma'] as Tool[]).map((t) => `${m(t, 'gapP50Ms')} / ${m(t, 'gapP99Ms')}`)],
      ['new TCP connections per probe', ...both('newConnectionsPerProbe', 3)],
      ['CPU s per 1,000 probes, own processes', ...both('cpuSecondsPer1000Probes', 3)],
      ['CPU s per 1,000 probes incl. its database', `${m('vigil', 'cpuSecondsPer1000ProbesWithDatabase').toFixed(3)} (prober + Postgres)`, `${m('kuma', 'cpuSecondsPer1000Probes').toFixed(3)} (SQLite is in-process)`],
      ['peak RSS MiB (process tree)', `${m('vigil', 'peakRssMiB')} (prober; Postgres not counted)`, `${m('kuma', 'peakRssMiB')} (${m('kuma', 'processes')} process${m('kuma', 'processes') === 1 ? '' : 'es'})`],
      ['setup until all targets monitored, s', ...both('setupSeconds')],
    ],
  );
  const gatusLine = x.gatus.some((g) => g.available)
    ? `The Go module proxy now serves ${x.gatus.filter((g) => g.available).map((g) => g.module).join(', ')}, but this command does not build it yet.`
    : `It cannot be built here: the only route to its source is the Go module proxy, and this run's \`go list -m <module>@latest\` got, for ${x.gatus.map((g) => `${g.module}: "${g.answer}"`).join('; for ')}.`;
  const range = (tool: Tool, key: keyof PhaseFigures) => {
    const values = x.runs.map((r) => r[tool][key]);
    return `${Math.min(...values)}–${Math.max(...values)}`;
  };
  const analysis = [
    `**What the figures say.** Both kept up with ${count} targets × ${intervalSeconds} s (completed share ${both('completedShare', 3).join(' and ')}).`,
    `Per 1,000 probes Kuma used ${ratio(m('kuma', 'cpuSecondsPer1000Probes'), m('vigil', 'cpuSecondsPer1000Probes'))}× the CPU of Vigil's prober, and ${ratio(m('kuma', 'cpuSecondsPer1000Probes'), m('vigil', 'cpuSecondsPer1000ProbesWithDatabase'))}× counting Vigil's Postgres as well, although Kuma reuses keep-alive connections (${m('kuma', 'newConnectionsPerProbe').toFixed(3)} new TCP connections per probe) while the prober opens one per probe (${m('vigil', 'newConnectionsPerProbe').toFixed(3)}).`,
    `Kuma's peak RSS was ${ratio(m('kuma', 'peakRssMiB'), m('vigil', 'peakRssMiB'))}× the prober's: one Kuma process holds its whole application (web and socket.io server, the libraries its monitor types and notification providers need) and SQLite; the prober holds its probes and a result buffer, its database being a separate Postgres process (not counted).`,
    `Scheduling differs by design: Vigil probes at absolute due times, so a round's gap stays at the interval (median ${m('vigil', 'gapP50Ms')} ms off) and lateness does not build up; Kuma waits one interval after each beat has finished and been stored, so every round is longer than the interval by the beat's own time (median ${m('kuma', 'gapP50Ms')} ms, p99 ${m('kuma', 'gapP99Ms')} ms) and lateness against the first probe grows with each round (median ${m('kuma', 'latenessP50Ms')} ms, p99 ${m('kuma', 'latenessP99Ms')} ms after at most ${Math.floor(x.windowMs / x.intervalMs)} rounds).`,
    `Kuma's round time moved with the machine's background load from run to run (median gap ${range('kuma', 'gapP50Ms')} ms, p99 ${range('kuma', 'gapP99Ms')} ms) far more than Vigil's (p99 ${range('vigil', 'gapP99Ms')} ms): its 1,000 monitors, imported within seconds, fire in bursts and queue their probes and SQLite writes on one event loop, so its lateness depends on what else runs on the machine; the quiet-machine run will show how much.`,
    `At this load the prober uses ${m('vigil', 'cpuCoresUsed')} of a core; its scaling to 10k checks is item 1 (bench/prober).`,
  ].join(' ');
  return [
    `The same ${count} loopback HTTP targets (paths \`/t/0\`…) probed every ${intervalSeconds} s (Uptime Kuma's minimum) with a ${x.timeoutS} s timeout by Vigil's prober and by Uptime Kuma, in the same run of the command, **one after the other** (alternating which goes first): on 2 cores two monitors running at once would take CPU from each other. Per monitor per run: configure all targets, ${x.warmupMs / 1000} s warm-up, ${x.windowMs / 1000} s window.`,
    `The target is a Go net/http server (bench/side-by-side/target) that records each request's arrival per path and counts the TCP connections it accepts; every figure below comes from its clock or from /proc, the same way for both. **Lateness** = a_k − (a_0 + k × interval) for the k-th arrival on a path after its first one in the window (drift from the schedule the first probe set; a skipped round shows as ≈ −interval); **round gap − interval** = a_k − a_(k−1) − interval. CPU = utime+stime over the window of the monitor's process tree; for Vigil also with its Postgres (all of it: it serves only this bench), since Kuma's SQLite runs inside Kuma's process. RSS sampled every 500 ms over warm-up and window, children included.`,
    `Vigil: \`node services/prober/dist/main.js\` as shipped (NODE_OPTIONS=${PROBER_NODE_OPTIONS}), checks inserted into \`vigil.checks\` of a fresh database on embedded Postgres (fsync off), as bench/prober/run.ts does. Uptime Kuma ${x.kumaVersion}: the only version the npm registry has, installed by the command from the registry into ~/.cache/vigil/bench/uptime-kuma (nothing of it is in this repository), run headless on the same Node 24 with a fresh SQLite data dir per run, its admin user and monitors created over its own socket.io API ("setup", "login", then its backup import "uploadBackup"); no browser is connected during the window, so it does no UI pushes.`,
    '',
    overview,
    '',
    spreadTable([...rows('vigil', x.runs), ...rows('kuma', x.runs)]),
    '',
    analysis,
    '',
    `**Gatus: not measured.** ${gatusLine}`,
    '',
    `**Uptime Kuma: measured.** What it took: \`npm install uptime-kuma@${x.kumaVersion}\` works from the registry; its SQLite driver (@louislam/sqlite3) cannot fetch its prebuilt binary from GitHub and compiles from source, which needs \`npm_config_nodedir\` pointing at local Node headers. The published tarball lists seven SQL patches its code reads from db/old_migrations/ but ships them in db/; the command copies them there (no code is changed), without which a fresh database fails with ENOENT. Its web UI is not used. Adding monitors one by one over its API ("add") re-sends the whole monitor list after each add (O(n²): 100 / 200 / 300 monitors took 7 / 25 / 68 s here), so the command uses its backup import, which stores and starts all monitors in one call; a Kuma restart would start existing monitors 0.3–1 s apart (over 10 minutes for 1,000), so each run starts a fresh one. ${x.kumaVersion} is a development pre-release: with a browser connected its per-beat statistics query uses MariaDB syntax on SQLite and fails (seen while importing), so figures with a UI open would differ.`,
    '',
    `Full run took ${x.minutes} min. Details: bench/side-by-side/README.md.`,
  ].join('\n');
}

async function measureAll(): Promise<Measured> {
  const started = Date.now();
  log(`${targetCount} targets × ${intervalS} s; ${runs} run(s); per monitor per run: ${warmupMs / 1000} s warm-up, ${windowMs / 1000} s window`);
  const gatus = await gatusAvailability();
  for (const g of gatus) log(`Gatus (${g.module}) from the Go module proxy: ${g.available ? 'available' : 'not available'}: ${g.answer}`);
  const packageDir = await ensureKuma(kumaCacheDir(), log);
  const workDir = await mkdtemp(join(tmpdir(), 'vigil-bench-sbs-'));
  const postgres = await PostgresServer.start();
  let target: Target | undefined;
  try {
    target = await startTarget(workDir);
    const pgPid = await postmasterPid(postgres);
    const results = await repeat(runs, async (run) => {
      // Alternating the order keeps a trend in the machine's background load from favouring one monitor.
      const order: Tool[] = run % 2 === 1 ? ['vigil', 'kuma'] : ['kuma', 'vigil'];
      const figures = {} as RunFigures;
      for (const tool of order) {
        log(`run ${run}: ${TOOL_NAME[tool]}`);
        figures[tool] = tool === 'vigil' ? await runVigil(postgres, pgPid, target!, workDir, run) : await runKuma(packageDir, target!, workDir, run);
        log(`run ${run}: ${TOOL_NAME[tool]}: ${JSON.stringify(figures[tool])}`);
      }
      return figures;
    });
    return { targetCount, intervalMs, timeoutS, warmupMs, windowMs, minutes: round((Date.now() - started) / 60_000, 1), gatus, kumaVersion: KUMA_VERSION, runs: results };
  } finally {
    target?.stop();
    await postgres.destroy();
    await rm(workDir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (values.render) {
    // Re-renders the last publication from its raw runs (after a change to the text), without measuring again.
    const last = JSON.parse(await readFile(join(RESULTS_DIR, 'side-by-side.json'), 'utf8')) as { command: string; machine: Machine; raw: Measured };
    await publish({ name: 'side-by-side', command: last.command, markdown: render(last.raw), raw: last.raw, machine: last.machine });
    return;
  }
  const host = machine();
  const measured = await measureAll();
  const argv = process.argv.slice(2).join(' ');
  await publish({ name: 'side-by-side', command: `node bench/side-by-side/run.ts${argv ? ` ${argv}` : ''}`, markdown: render(measured), raw: measured, machine: host });
}

runBenchmark(main);
