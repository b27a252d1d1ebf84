// Benchmark of the api's public endpoints on a realistic volume:
// 10,000 checks x 90 days of day rollups + 24 hours of hour rollups.
//
//   nx run api:build && node bench/api/bench.ts
//
// Env: BENCH_CHECKS (10000), BENCH_CONNECTIONS (comma list, "1,8"),
// BENCH_DURATION (seconds per run, 20), BENCH_EXPLAIN=1 prints query plans.
// Runs on Node 24, which strips the types of this file itself. Not part of
// `make test`: it takes minutes and measures timing on a shared machine.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPool, migrate } from '@vigil/db';
import { PostgresServer, WORKSPACE_ROOT, freePort, startService, waitForReady } from '@vigil/testing';

const run = promisify(execFile);
const CHECKS = Number(process.env.BENCH_CHECKS ?? 10_000);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '1,8').split(',').map(Number);
const DURATION = Number(process.env.BENCH_DURATION ?? 20);
const ENDPOINTS = ['/api/v1/checks', '/api/v1/summary', '/api/v1/checks?include=history', '/api/v1/checks?group=group-7&state=up'];
const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

// 1 in 20 unpublished, 1 in 100 down, 25 groups, 50 namespaces; a 20-slot latency histogram per rollup.
const SEED_CHECKS = `
  INSERT INTO vigil.checks (uid, namespace, name, generation, url, interval_ms, timeout_ms, publish, display_name, group_name,
    state, state_since, last_code, last_latency_ms, last_probe_at, created_at)
  SELECT gen_random_uuid(), 'ns-' || (i % 50), 'check-' || i, 1, 'https://svc-' || i || '.example/health', 30000, 10000,
    i % 20 <> 0, 'Check ' || i, 'group-' || (i % 25), CASE WHEN i % 100 = 0 THEN 'down' ELSE 'up' END,
    now() - interval '1 day', 200, 50 + i % 200, now(), now() - interval '120 days'
  FROM generate_series(1, $1::int) AS i`;
const SEED_DAYS = `
  INSERT INTO vigil.uptime_rollups (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
  SELECT c.uid, 'day', d, 2880, 2880 - (random() < 0.05)::int * 30, 2850 * 80, 420, '{0,0,0,0,100,2000,650,80,20,0,0,0,0,0,0,0,0,0,0,0}'
  FROM vigil.checks c,
       generate_series(date_trunc('day', now()) - interval '89 days', date_trunc('day', now()), interval '1 day') AS d`;
const SEED_HOURS = `
  INSERT INTO vigil.uptime_rollups (check_uid, granularity, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets)
  SELECT c.uid, 'hour', h, 120, 120, 120 * 80, 300, '{0,0,0,0,5,90,20,5,0,0,0,0,0,0,0,0,0,0,0,0}'
  FROM vigil.checks c,
       generate_series(date_trunc('hour', now()) - interval '23 hours', date_trunc('hour', now()), interval '1 hour') AS h`;

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p90: number; p99: number; max: number; average: number };
  non2xx: number;
  errors: number;
}

async function autocannon(url: string, connections: number, seconds: number): Promise<AutocannonResult> {
  const bin = join(WORKSPACE_ROOT, 'node_modules/.bin/autocannon');
  const { stdout } = await run(bin, ['-c', String(connections), '-d', String(seconds), '--json', url], { maxBuffer: 64 * 1024 * 1024 });
  return JSON.parse(stdout) as AutocannonResult;
}

async function main(): Promise<void> {
  const postgres = await PostgresServer.start();
  try {
    const db = await postgres.createDatabase('vigil_bench');
    const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 2 });
    await migrate(pool);
    let t = Date.now();
    await pool.query(SEED_CHECKS, [CHECKS]);
    await pool.query(SEED_DAYS);
    await pool.query(SEED_HOURS);
    await pool.query('VACUUM ANALYZE vigil.checks');
    await pool.query('VACUUM ANALYZE vigil.uptime_rollups');
    const counts = await pool.query<{ granularity: string; n: number }>(`SELECT granularity, count(*)::int AS n FROM vigil.uptime_rollups GROUP BY 1 ORDER BY 1`);
    log(`seeded ${CHECKS} checks, rollups ${JSON.stringify(counts.rows)} in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    if (process.env.BENCH_EXPLAIN) await explain(pool);

    const port = await freePort();
    const api = await startService('api', { DATABASE_URL: db.url, PORT: String(port), LOG_LEVEL: 'warn' }, { opsPort: port });
    try {
      await waitForReady(api);
      const base = `http://127.0.0.1:${port}`;
      const rows: string[] = ['| endpoint | connections | req/s | p50 ms | p90 ms | p99 ms | max ms | non-2xx |', '|---|---|---|---|---|---|---|---|'];
      for (const path of ENDPOINTS) {
        await autocannon(`${base}${path}`, 4, 3); // warm-up: JIT, prepared statements, buffer cache
        for (const c of CONNECTIONS) {
          t = Date.now();
          const r = await autocannon(`${base}${path}`, c, DURATION);
          const line = `| \`${path}\` | ${c} | ${Math.round(r.requests.average)} | ${r.latency.p50} | ${r.latency.p90} | ${r.latency.p99} | ${r.latency.max} | ${r.non2xx + r.errors} |`;
          rows.push(line);
          log(line);
        }
      }
      process.stdout.write(`\n${rows.join('\n')}\n`);
      await coldPath(base);
    } finally {
      await api.stop();
    }
    await pool.end();
  } finally {
    await postgres.destroy();
  }
}

/**
 * Latency when the response cache cannot help: sequential requests, one
 * client, every list request a different page. The first pass over the pages
 * also sums each check's settled days and hours (the UptimeTotals memo); the
 * second pass, after the cached responses expired, reads only open rollups.
 * The summary is requested once per cache TTL.
 */
async function coldPath(base: string): Promise<void> {
  const time = async (url: string) => {
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${url}: ${res.status}`);
    return performance.now() - t;
  };
  const pages = Math.floor((CHECKS * 0.95) / 50);
  const firstVisit: number[] = [];
  for (let i = 0; i < pages; i++) firstVisit.push(await time(`${base}/api/v1/checks?offset=${i * 50}`));
  const revisit: number[] = [];
  for (let i = 0; i < pages; i++) revisit.push(await time(`${base}/api/v1/checks?offset=${i * 50}`));
  const summary: number[] = [];
  for (let i = 0; i < 30; i++) {
    summary.push(await time(`${base}/api/v1/summary`));
    await new Promise((r) => setTimeout(r, 1_100));
  }
  const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!.toFixed(1);
  const row = (label: string, xs: number[]) => `| ${label} | ${xs.length} | ${pct(xs, 0.5)} | ${pct(xs, 0.99)} | ${pct(xs, 1)} |\n`;
  process.stdout.write(
    `\n| cache miss, 1 client | requests | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|\n` +
      row(`\`/api/v1/checks?offset=…\`, first visit of each of ${pages} pages`, firstVisit) +
      row('`/api/v1/checks?offset=…`, the same pages again (settled sums kept)', revisit) +
      row('`/api/v1/summary` (one per 1.1 s)', summary),
  );
}

/** The plans of the list's queries for one page, as the api runs them. */
async function explain(pool: ReturnType<typeof createPool>): Promise<void> {
  const plans = [
    `SELECT c.uid FROM vigil.checks c WHERE c.publish AND NOT EXISTS (SELECT 1 FROM vigil.checks newer WHERE newer.namespace = c.namespace AND newer.name = c.name AND (newer.created_at, newer.uid) > (c.created_at, c.uid))
       ORDER BY nullif(c.group_name, '') NULLS LAST, coalesce(nullif(c.display_name, ''), c.name), c.namespace, c.name LIMIT 50`,
    `SELECT c.state, count(*) FROM vigil.checks c WHERE c.publish AND NOT EXISTS (SELECT 1 FROM vigil.checks newer WHERE newer.namespace = c.namespace AND newer.name = c.name AND (newer.created_at, newer.uid) > (c.created_at, c.uid)) GROUP BY c.state`,
    `SELECT check_uid, sum(probes), sum(successes) FROM vigil.uptime_rollups
       WHERE check_uid = ANY(ARRAY(SELECT uid FROM vigil.checks ORDER BY uid LIMIT 50))
         AND ((granularity = 'hour' AND bucket_start >= now() - interval '24 hours') OR (granularity = 'day' AND bucket_start >= now() - interval '90 days'))
       GROUP BY check_uid`,
  ];
  for (const sql of plans) {
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`);
    process.stdout.write(`\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`[bench] failed: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
