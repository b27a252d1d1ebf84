import { describe, expect, it } from '@jest/globals';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
  it('refuses lease timings that would let two leaders overlap', async () => {
    const run = runMain({ DATABASE_URL: 'postgres://u@127.0.0.1:1/db', LEASE_DURATION: '10s', LEASE_RENEW_DEADLINE: '10s', LEASE_RETRY_PERIOD: '9s' });
    expect(await run.exited).toBe(1);
    expect(JSON.parse(run.output().stderr).problems).toEqual([
      'LEASE_RENEW_DEADLINE=10s must be less than LEASE_DURATION=10s',
      'LEASE_RETRY_PERIOD=9s must be well below LEASE_RENEW_DEADLINE=10s (at most renew deadline / 1.2)',
    ]);
  });

  // Health, readiness, metrics and shutdown against a real API server: see watcher.int-spec.ts.
});
