import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createPool, migrate } from '@vigil/db';
import { PostgresServer, freePort, waitFor, type TestDatabase } from '@vigil/testing';

// The service as it ships: the built dist/main.js (nx builds it before this suite).
const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));

function runMain(env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, output: () => ({ stdout, stderr }) };
}

let server: PostgresServer;
let db: TestDatabase;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
});

afterAll(async () => {
  await server?.destroy();
});

describe('a service process', () => {
  it('lists every bad variable as JSON on stderr and exits 1', async () => {
    const run = runMain({ DATABASE_URL: 'mysql://nope', LOG_LEVEL: 'chatty', OPS_PORT: 'eighty' });
    expect(await run.exited).toBe(1);
    const lines = run.output().stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!) as { level: string; service: string; msg: string; problems: string[] };
    expect(report).toMatchObject({ level: 'fatal', service: 'watcher', msg: 'invalid configuration' });
    expect(report.problems).toEqual([
      'DATABASE_URL=<redacted> is invalid: expected a URL with scheme postgres or postgresql',
      'LOG_LEVEL="chatty" is invalid: expected one of debug, info, warn, error',
      'OPS_PORT="eighty" is invalid: expected an integer',
    ]);
  });

  it('says which variable is missing', async () => {
    const run = runMain({});
    expect(await run.exited).toBe(1);
    expect(JSON.parse(run.output().stderr).problems).toEqual(['DATABASE_URL is required (PostgreSQL connection URL)']);
  });

  it('serves health and metrics, is ready only with a current schema, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const run = runMain({ DATABASE_URL: db.url, OPS_PORT: String(port) });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the ops server', async () => (await fetch(`${base}/healthz`)).ok);

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: Record<string, string> }).checks.postgres).toMatch(/run the migrations/);

    const pool = createPool({ connectionString: db.url, applicationName: 'test', max: 1 });
    await migrate(pool);
    await pool.end();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok' } });

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('vigil_process_resident_memory_bytes{service="watcher"}');

    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const logs = run.output().stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; service: string; level: string });
    expect(logs.every((l) => l.service === 'watcher')).toBe(true);
    expect(logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['shutting down', 'stopped']));
  });
});
