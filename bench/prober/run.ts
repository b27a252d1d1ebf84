// Prober benchmark (not part of `make test`). Run from the repository root
// after `nx run prober:build`:
//
//   node bench/prober/run.ts --replicas 1 --checks 5000 --interval 5s --seconds 60
//
// Starts a real Postgres, a Go HTTP target on loopback (bench/prober/target),
// inserts the checks directly, runs the built prober as processes and reports,
// over a measurement window after a warm-up: probes/s, start lateness p50/p99
// (started_at − due_at), CPU seconds per 1,000 probes (utime+stime of the
// prober processes from /proc) and peak RSS.
// Node 24 strips the types of this file itself.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPool, migrate } from '@vigil/db';
import { PostgresServer, WORKSPACE_ROOT, freePort, startService, waitForReady, type ServiceProcess } from '@vigil/testing';
import { parseDuration } from '@vigil/config';

const { values } = parseArgs({
  options: {
    replicas: { type: 'string', default: '1' },
    checks: { type: 'string', default: '5000' },
    interval: { type: 'string', default: '5s' },
    seconds: { type: 'string', default: '60' },
    warmup: { type: 'string', default: '15' },
    concurrency: { type: 'string', default: '256' },
  },
});
const replicas = Number(values.replicas);
const checks = Number(values.checks);
const intervalMs = parseDuration(values.interval!);
const windowMs = Number(values.seconds) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);

async function startTarget(): Promise<{ port: number; stop: () => void }> {
  const dir = join(WORKSPACE_ROOT, 'bench', 'prober', 'target');
  const child = spawn('go', ['run', '.'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim().split('\n')[0])));
  });
  return { port, stop: () => child.kill('SIGTERM') };
}

/** utime + stime of a process in seconds (Linux /proc). */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ = 100)
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function main(): Promise<void> {
  log(`replicas=${replicas} checks=${checks} interval=${intervalMs}ms window=${windowMs / 1000}s warmup=${warmupMs / 1000}s concurrency=${values.concurrency}`);
  const postgres = await PostgresServer.start();
  const db = await postgres.createDatabase('bench');
  const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 2 });
  await migrate(pool);
  const target = await startTarget();
  const probers: ServiceProcess[] = [];
  try {
    const rows = Array.from({ length: checks }, (_, i) => ({
      uid: randomUUID(),
      namespace: 'bench',
      name: `c${i}`,
      url: `http://127.0.0.1:${target.port}/${i}`,
      interval_ms: intervalMs,
      timeout_ms: Math.min(5_000, intervalMs - 1),
    }));
    await pool.query(
      `INSERT INTO vigil.checks (uid, namespace, name, generation, url, interval_ms, timeout_ms)
       SELECT r.uid, r.namespace, r.name, 1, r.url, r.interval_ms, r.timeout_ms
       FROM jsonb_to_recordset($1::jsonb) AS r(uid uuid, namespace text, name text, url text, interval_ms int, timeout_ms int)`,
      [JSON.stringify(rows)],
    );
    for (let i = 0; i < replicas; i++) {
      const opsPort = await freePort();
      const prober = await startService(
        'prober',
        { DATABASE_URL: db.url, POD_NAME: `bench-${i}`, LOG_LEVEL: 'warn', SSRF_ALLOW_CIDRS: '127.0.0.1/32', PROBE_CONCURRENCY: values.concurrency! },
        { opsPort, instance: `bench-${i}` },
      );
      await waitForReady(prober, 60_000);
      probers.push(prober);
    }
    await new Promise((r) => setTimeout(r, warmupMs));

    const pids = probers.map((p) => p.child.pid!);
    const cpuBefore = await Promise.all(pids.map(cpuSeconds));
    const from = new Date();
    let peakRss = 0;
    const sampler = setInterval(() => {
      void Promise.all(pids.map(rssBytes)).then((rss) => (peakRss = Math.max(peakRss, ...rss)));
    }, 1_000);
    await new Promise((r) => setTimeout(r, windowMs));
    clearInterval(sampler);
    const to = new Date();
    const cpuAfter = await Promise.all(pids.map(cpuSeconds));
    await new Promise((r) => setTimeout(r, 2_000)); // let the last batches land

    const { rows: stats } = await pool.query<{ probes: number; ok: number; p50: number; p99: number; max: number; failures: Record<string, number> | null }>(
      `SELECT count(*)::int AS probes, count(*) FILTER (WHERE ok)::int AS ok,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at) * 1000) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - due_at) * 1000) AS p99,
              max(extract(epoch FROM started_at - due_at) * 1000) AS max,
              (SELECT jsonb_object_agg(reason, n) FROM (SELECT reason, count(*) AS n FROM vigil.probe_results
                 WHERE started_at >= $1 AND started_at < $2 AND NOT ok GROUP BY reason) f) AS failures
       FROM vigil.probe_results WHERE started_at >= $1 AND started_at < $2`,
      [from, to],
    );
    const s = stats[0]!;
    const seconds = (to.getTime() - from.getTime()) / 1000;
    const cpu = cpuAfter.reduce((a, b) => a + b, 0) - cpuBefore.reduce((a, b) => a + b, 0);
    const expected = (checks * seconds * 1000) / intervalMs;
    const result = {
      replicas,
      checks,
      intervalMs,
      windowSeconds: seconds,
      probesPerSecond: Math.round((s.probes / seconds) * 10) / 10,
      scheduledPerSecond: Math.round((checks / intervalMs) * 1000 * 10) / 10,
      completedShare: Math.round((s.probes / expected) * 1000) / 1000,
      ok: s.ok,
      failures: s.failures ?? {},
      latenessMs: { p50: Math.round(s.p50), p99: Math.round(s.p99), max: Math.round(s.max) },
      cpuSecondsPer1000Probes: Math.round((cpu / s.probes) * 1000 * 1000) / 1000,
      cpuCoresUsed: Math.round((cpu / seconds) * 100) / 100,
      peakRssMiB: Math.round(peakRss / 1024 / 1024),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await Promise.all(probers.map((p) => p.stop('SIGTERM', 20_000)));
    target.stop();
    await pool.end();
    await postgres.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
