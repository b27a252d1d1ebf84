// Benchmark of the api's public endpoints on a realistic volume:
// 10,000 checks x 90 days of day rollups + 24 hours of hour rollups + 10
// probe results each, under concurrent load from autocannon.
//
//   nx run api:build && node bench/api/bench.ts [--runs 3] [--quick]
//
// Flags: --runs N (3), --checks N (10000), --duration S (seconds per
// measurement, 5), --connections 1,8 (comma list), --quick (1,000 checks,
// 2 s, 1 run: for development), --profile (pg_stat_statements, EXPLAIN
// (ANALYZE, BUFFERS) of the list's queries, and `node --cpu-prof` of the api
// without its response cache; printed, not published).
//
// Each run starts the built api twice on the seeded database: as shipped
// (1 s response cache) and with PUBLIC_CACHE_TTL=0ms (every request loads:
// the cache-miss figures). Runs on Node 24, which strips the types of this
// file itself. Not part of `make test`.
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate } from '@vigil/db';
import { PostgresServer, freePort, startService, waitForReady } from '@vigil/testing';
import { distribution, log, machine, publish, repeat, runsFromArgs, spread, table, runBenchmark } from '../lib/report.ts';

// ---- options ------------------------------------------------------------

const argv = process.argv;
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = argv.includes('--quick');
const PROFILE = argv.includes('--profile');
const RUNS = QUICK && !argv.includes('--runs') ? 1 : runsFromArgs();
const CHECKS = Number(flag('checks') ?? (QUICK ? 1_000 : 10_000));
const DURATION_S = Number(flag('duration') ?? (QUICK ? 2 : 5));
const CONNECTIONS = (flag('connections') ?? '1,8').split(',').map(Number);
const GOAL_P99_MS = 20;
const LIST_PAGE = 50; // the api's default limit
const STATUS_PAGE_SIZE = 500; // PAGE_SIZE of services/api/src/status-page/public/app.js

// ---- seed -----------------------------------------------------------------

// 1 in 20 unpublished, 1 in 100 down, 25 groups, 50 namespaces; a 20-slot latency histogram per rollup.
// Written by the watcher's function (vigil.upsert_checks), then given what probers would have written since.
const SEED_CHECKS = `
  SELECT * FROM vigil.upsert_checks((
    SELECT jsonb_agg(jsonb_build_object(
      'uid', gen_random_uuid(), 'namespace', 'ns-' || (i % 50), 'name', 'check-' || i, 'generation', 1,
      'url', 'https://svc-' || i || '.example/health', 'interval_ms', 30000, 'timeout_ms', 10000,
      'publish', i % 20 <> 0, 'display_name', 'Check ' || i, 'group_name', 'group-' || (i % 25),
      'seed_state', CASE WHEN i % 100 = 0 THEN 'down' ELSE 'up' END, 'seed_state_since', now() - interval '1 day'))
    FROM generate_series(1, $1::int) AS i))`;
const SEED_PROBED = `
  UPDATE vigil.checks SET last_code = 200, last_latency_ms = 50 + substring(name FROM 7)::int % 200, last_probe_at = now(),
    created_at = now() - interval '120 days'`;
// Rows written day by day for all checks, as probers write them: one check's days lie on different heap pages.
const SEED_DAYS = `
  INSERT INTO vigil.uptime_rollups (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
  SELECT c.uid, 'day', d, 2880, 2880 - (random() < 0.05)::int * 30, 2850 * 80, 420, '{0,0,0,0,100,2000,650,80,20,0,0,0,0,0,0,0,0,0,0,0}'
  FROM generate_series(date_trunc('day', now()) - interval '89 days', date_trunc('day', now()), interval '1 day') AS d, vigil.checks c`;
const SEED_HOURS = `
  INSERT INTO vigil.uptime_rollups (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
  SELECT c.uid, 'hour', h, 120, 120, 120 * 80, 300, '{0,0,0,0,5,90,20,5,0,0,0,0,0,0,0,0,0,0,0,0}'
  FROM generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h, vigil.checks c`;
// The detail's "latest results": 10 per check in the last 5 minutes.
const SEED_RESULTS = `
  INSERT INTO vigil.probe_results (check_uid, started_at, ok, code, total_ms, prober)
  SELECT c.uid, now() - k * interval '30 seconds', true, 200, 40 + k, 'bench'
  FROM generate_series(0, 9) AS k, vigil.checks c`;

type Pool = ReturnType<typeof createPool>;

async function seed(pool: Pool): Promise<string> {
  const t = Date.now();
  await pool.query(SEED_CHECKS, [CHECKS]);
  await pool.query(SEED_PROBED);
  await pool.query(SEED_DAYS);
  await pool.query(SEED_HOURS);
  await pool.query(`SELECT vigil.ensure_probe_result_partitions((now() - interval '1 day')::date, 3)`);
  await pool.query(SEED_RESULTS);
  for (const t of ['checks', 'uptime_rollups', 'probe_results']) await pool.query(`VACUUM ANALYZE vigil.${t}`);
  const { rows } = await pool.query<{ what: string; n: number }>(
    `SELECT granularity AS what, count(*)::int AS n FROM vigil.uptime_rollups GROUP BY 1 UNION ALL SELECT 'probe results', count(*)::int FROM vigil.probe_results ORDER BY 1`,
  );
  const seeded = `${CHECKS.toLocaleString('en-US')} checks; rollups/results ${rows.map((r) => `${r.what} ${r.n.toLocaleString('en-US')}`).join(', ')}`;
  log(`seeded ${seeded} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  return seeded;
}

// ---- requests ---------------------------------------------------------------

/** Published check numbers (see SEED_CHECKS), in a fixed shuffled order. */
function publishedChecks(): number[] {
  const ids: number[] = [];
  for (let i = 1; i <= CHECKS; i++) if (i % 20 !== 0) ids.push(i);
  let state = 42;
  for (let i = ids.length - 1; i > 0; i--) {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = state % (i + 1);
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids;
}

interface Endpoint {
  key: string;
  label: string;
  paths: string[];
}

function endpoints(): Endpoint[] {
  const published = Math.ceil(CHECKS * 0.95);
  const pages = (size: number) => Array.from({ length: Math.ceil(published / size) }, (_, k) => k * size);
  return [
    { key: 'checks', label: `\`/api/v1/checks?offset=…\` (each of its ${pages(LIST_PAGE).length} pages in turn)`, paths: pages(LIST_PAGE).map((o) => `/api/v1/checks?offset=${o}`) },
    { key: 'summary', label: '`/api/v1/summary`', paths: ['/api/v1/summary'] },
    {
      key: 'detail',
      label: `\`/api/v1/checks/:namespace/:name\` (detail, ${published.toLocaleString('en-US')} checks in turn)`,
      paths: publishedChecks().map((i) => `/api/v1/checks/ns-${i % 50}/check-${i}`),
    },
    {
      key: 'page',
      label: `status page: \`/api/v1/checks?include=history&limit=${STATUS_PAGE_SIZE}&offset=…\` (${pages(STATUS_PAGE_SIZE).length} pages in turn)`,
      paths: pages(STATUS_PAGE_SIZE).map((o) => `/api/v1/checks?include=history&limit=${STATUS_PAGE_SIZE}&offset=${o}`),
    },
  ];
}

// ---- autocannon ---------------------------------------------------------------

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
interface RequestData {
  path: string;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  requests: Array<{ method: string; setupRequest: (req: RequestData) => RequestData }>;
}) => Promise<AutocannonResult>;
// autocannon ships no types; its programmatic API rotates paths through setupRequest.
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** Load on `paths` in turn (one counter shared by all connections). */
async function load(base: string, paths: string[], connections: number, seconds: number): Promise<AutocannonResult> {
  let next = 0;
  const result = await autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: paths[next++ % paths.length]! }) }],
  });
  if (result.non2xx + result.errors + result.timeouts > 0) throw new Error(`${paths[0]}: ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
  return result;
}

async function timeGet(url: string): Promise<number> {
  const t = performance.now();
  const res = await fetch(url);
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return performance.now() - t;
}

// ---- one run ------------------------------------------------------------------

const MODES = [
  { key: 'cached', label: 'as shipped (1 s cache)', env: {} },
  { key: 'miss', label: 'cache off (`PUBLIC_CACHE_TTL=0ms`)', env: { PUBLIC_CACHE_TTL: '0ms' } },
] as const;

type Figures = Record<string, number>;

async function scenario(databaseUrl: string, run: number, cpuProfDir: string | undefined): Promise<Figures> {
  const figures: Figures = {};
  for (const mode of MODES) {
    const port = await freePort();
    const profiling = cpuProfDir !== undefined && mode.key === 'miss' && run === 1;
    const api = await startService(
      'api',
      { DATABASE_URL: databaseUrl, PORT: String(port), LOG_LEVEL: 'warn', ...mode.env, ...(profiling ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${cpuProfDir}` } : {}) },
      { opsPort: await freePort(), instance: `api-${mode.key}-${run}` },
    );
    try {
      await waitForReady(api);
      const base = `http://127.0.0.1:${port}`;
      // A fresh api has not summed any check's settled rollups yet (UptimeTotals):
      // the first request for each page pays that once per check and hour.
      const firstVisit: number[] = [];
      for (const path of endpoints()[0]!.paths) firstVisit.push(await timeGet(`${base}${path}`));
      const d = distribution(firstVisit);
      figures[`${mode.key}.firstVisit.p50`] = d.p50;
      figures[`${mode.key}.firstVisit.p99`] = d.p99;
      for (const endpoint of endpoints()) {
        await load(base, endpoint.paths, 4, 1); // warm-up: JIT, prepared statements
        for (const c of CONNECTIONS) {
          const r = await load(base, endpoint.paths, c, DURATION_S);
          const prefix = `${mode.key}.${endpoint.key}.c${c}`;
          figures[`${prefix}.rps`] = r.requests.average;
          figures[`${prefix}.p50`] = r.latency.p50;
          figures[`${prefix}.p99`] = r.latency.p99;
          log(`${prefix}: ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms`);
        }
      }
    } finally {
      await api.stop();
    }
  }
  return figures;
}

// ---- report -------------------------------------------------------------------

function markdown(runs: Figures[], seeded: string): string {
  const cell = (key: string, digits = 0) => {
    const s = spread(runs.map((r) => r[key]!));
    const f = (v: number) => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return runs.length > 1 ? `**${f(s.median)}** (${f(s.min)}–${f(s.max)})` : `**${f(s.median)}**`;
  };
  const rows: string[][] = [];
  for (const mode of MODES)
    for (const endpoint of endpoints())
      for (const c of CONNECTIONS) {
        const prefix = `${mode.key}.${endpoint.key}.c${c}`;
        const p99 = spread(runs.map((r) => r[`${prefix}.p99`]!)).median;
        rows.push([endpoint.label, mode.label, String(c), cell(`${prefix}.rps`), cell(`${prefix}.p50`), cell(`${prefix}.p99`), `≤ ${GOAL_P99_MS} ms ${p99 <= GOAL_P99_MS ? 'met' : '**missed**'}`]);
      }
  const first = MODES.map((m) => [`\`/api/v1/checks?offset=…\`, first request per page after start (${m.label})`, cell(`${m.key}.firstVisit.p50`, 1), cell(`${m.key}.firstVisit.p99`, 1)]);
  return [
    `Seeded: ${seeded}. Built api as a process on an embedded Postgres on the same 2 cores; autocannon (in the bench process) ${DURATION_S} s per cell after a 1 s warm-up, ` +
      `connections ${CONNECTIONS.join(' and ')}; each endpoint's requests rotate over the paths named (one counter shared by the connections). ` +
      `Each run starts the api twice: as shipped, and with its 1 s response cache off (\`PUBLIC_CACHE_TTL=0ms\`), so every request loads from Postgres. ` +
      `Figures: median (min–max) over ${runs.length} run(s); autocannon reports whole milliseconds. Goal P4: p99 ≤ ${GOAL_P99_MS} ms.`,
    '',
    table(['endpoint', 'api', 'connections', 'req/s', 'p50 ms', 'p99 ms', 'P4'], rows),
    '',
    'Sequential, one client, before the load: the first request for each page after the api started (it sums each check\'s settled rollups once and keeps them):',
    '',
    table(['request', 'p50 ms', 'p99 ms'], first),
  ].join('\n');
}

const ANALYSIS =
  'Where the time goes (profile and before/after in bench/api/RESULTS.md): a miss of the list and the summary used to be an anti-join over every check ' +
  '(the public sees only the newest row of a re-created check); that is now a flag kept by triggers (`checks.superseded`, migration 0005), ' +
  'which made those misses 2-3x cheaper. At 8 connections on 2 cores the p99s measure CPU contention. The status page\'s own request misses P4 by far, ' +
  'cached or not: each of its pages of 500 checks reads ~45,000 scattered day rollups and serialises ~3 MB; keeping settled days in process is the next change.';

// ---- profiling (--profile) -----------------------------------------------------------

async function explain(pool: Pool): Promise<void> {
  const uids = `ARRAY(SELECT uid FROM vigil.checks WHERE publish ORDER BY nullif(group_name, '') NULLS LAST, coalesce(nullif(display_name, ''), name), namespace, name OFFSET 4000 LIMIT 50)`;
  const plans = [
    `SELECT c.uid FROM vigil.checks c WHERE c.publish AND NOT c.superseded
       ORDER BY nullif(c.group_name, '') NULLS LAST, coalesce(nullif(c.display_name, ''), c.name), c.namespace, c.name LIMIT 50 OFFSET 4000`,
    `SELECT count(*) FROM vigil.checks c WHERE c.publish AND NOT c.superseded`,
    `SELECT c.state, count(*) FROM vigil.checks c WHERE c.publish AND NOT c.superseded GROUP BY c.state`,
    `SELECT check_uid, sum(probes), sum(successes) FROM vigil.uptime_rollups
       WHERE check_uid = ANY(${uids}) AND ((granularity = 'day' AND bucket_start >= date_trunc('day', now())) OR (granularity = 'hour' AND bucket_start >= date_trunc('hour', now())))
       GROUP BY check_uid`,
  ];
  for (const sql of plans) {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
    process.stdout.write(`\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
  }
  // The status page's history of one page of 500 checks, as the api runs it: a prepared statement (generic plan after 5 runs).
  const client = await pool.connect();
  try {
    await client.query(`PREPARE history(uuid[], text, timestamptz) AS SELECT check_uid, bucket_start, probes, successes, latency_sum_ms
      FROM vigil.uptime_rollups WHERE check_uid = ANY($1::uuid[]) AND granularity = $2 AND bucket_start >= $3`);
    const page = await client.query<{ uids: string }>(`SELECT ${uids.replace('LIMIT 50', `LIMIT ${STATUS_PAGE_SIZE}`)}::text AS uids`);
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (ANALYZE, BUFFERS) EXECUTE history('${page.rows[0]!.uids}', 'day', date_trunc('day', now()) - interval '89 days')`,
      );
      process.stdout.write(`\n${mode}:\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
    }
  } finally {
    client.release();
  }
}

async function statements(pool: Pool): Promise<void> {
  const { rows } = await pool.query<{ calls: number; mean_ms: number; total_ms: number; rows: number; query: string }>(
    `SELECT calls::int, round(mean_exec_time::numeric, 2)::float AS mean_ms, round(total_exec_time::numeric)::float AS total_ms, rows::int,
            regexp_replace(left(query, 110), '\\s+', ' ', 'g') AS query
     FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 12`,
  );
  process.stdout.write(`\npg_stat_statements (all runs, both apis):\n${table(['calls', 'mean ms', 'total ms', 'rows', 'query'], rows.map((r) => [String(r.calls), r.mean_ms.toFixed(2), String(r.total_ms), String(r.rows), `\`${r.query}\``]))}\n`);
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of the profiled api by where the code lives (package, the api, node internals, GC). */
async function summariseCpuProfile(dir: string): Promise<void> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
    const byPlace = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const frame = byId.get(id)!;
      const us = profile.timeDeltas[i] ?? 0;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(frame.url)?.[1];
      const place = pkg ?? (frame.url.includes('/services/api/') ? 'services/api' : frame.url.includes('/libs/') ? 'libs' : frame.url.startsWith('node:') ? 'node internals' : frame.functionName || frame.url || '(native)');
      if (place === '(idle)') return;
      total += us;
      byPlace.set(place, (byPlace.get(place) ?? 0) + us);
      const fn = `${frame.functionName || '(anonymous)'} ${frame.url.split('/').slice(-2).join('/')}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    });
    const top = (m: Map<string, number>) =>
      [...m].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, us]) => [k, (us / 1000).toFixed(0), `${((100 * us) / total).toFixed(1)} %`]);
    process.stdout.write(`\n--cpu-prof of the api without cache (${file}), busy ${(total / 1e6).toFixed(1)} s:\n${table(['where', 'self ms', 'share'], top(byPlace))}\n\n${table(['function', 'self ms', 'share'], top(byFunction))}\n`);
  }
}

// ---- main -----------------------------------------------------------------------

async function main(): Promise<void> {
  const started = Date.now();
  const host = machine();
  const postgres = await PostgresServer.start();
  try {
    if (PROFILE) {
      const admin = createPool({ connectionString: postgres.url(), applicationName: 'bench', max: 1 });
      await admin.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`);
      await admin.end();
      await postgres.stop();
      await postgres.restart();
    }
    const db = await postgres.createDatabase('vigil_bench');
    const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 2 });
    try {
      await migrate(pool);
      const seeded = await seed(pool);
      if (PROFILE) {
        await explain(pool);
        await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        await pool.query('SELECT pg_stat_statements_reset()');
      }
      const cpuProfDir = PROFILE ? await mkdtemp(join(tmpdir(), 'vigil-api-cpuprof-')) : undefined;
      const runs = await repeat(RUNS, (run) => scenario(db.url, run, cpuProfDir));
      if (PROFILE) {
        await statements(pool);
        await summariseCpuProfile(cpuProfDir!);
        log(`cpu profile kept in ${cpuProfDir}`);
      }
      await publish({
        name: 'api',
        command: `node bench/api/bench.ts${argv.slice(2).length ? ` ${argv.slice(2).join(' ')}` : ''}`,
        markdown: `${markdown(runs, seeded)}\n\n${ANALYSIS}`,
        raw: { checks: CHECKS, durationSeconds: DURATION_S, connections: CONNECTIONS, runs },
        machine: host,
      });
    } finally {
      await pool.end();
    }
  } finally {
    await postgres.destroy();
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
}

runBenchmark(main);
