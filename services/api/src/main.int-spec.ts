import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createPool, migrate } from '@vigil/db';
import { PostgresServer, freePort, startService, waitFor, type ServiceProcess, type TestDatabase } from '@vigil/testing';

// The api as it ships: the built dist/main.js (nx builds it before this suite).
let server: PostgresServer;
let db: TestDatabase;
let api: ServiceProcess | undefined;

beforeAll(async () => {
  server = await PostgresServer.start();
  db = await server.createDatabase();
});

afterAll(async () => {
  await api?.stop('SIGKILL');
  await server?.destroy();
});

describe('the api process', () => {
  it('lists every bad variable as one JSON line on stderr and exits 1', async () => {
    const failing = await startService('api', { DATABASE_URL: 'mysql://nope', PORT: 'http', STATUS_PAGE_REFRESH: '10', STATUS_PAGE_SHOW_URLS: 'maybe' }, { opsPort: 1 });
    expect(await failing.exited).toBe(1);
    const [report] = await failing.logs();
    expect(report).toMatchObject({ level: 'fatal', service: 'api', msg: 'invalid configuration' });
    expect(report!.problems).toEqual([
      'DATABASE_URL=<redacted> is invalid: expected a URL with scheme postgres or postgresql',
      'PORT="http" is invalid: expected an integer',
      'STATUS_PAGE_SHOW_URLS="maybe" is invalid: expected true or false',
      'STATUS_PAGE_REFRESH="10" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "10"',
    ]);
  });

  it('serves liveness, readiness (Postgres reachable and migrated) and metrics on PORT, and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    api = await startService('api', { DATABASE_URL: db.url, PORT: String(port) }, { opsPort: port });
    const base = `http://127.0.0.1:${port}`;
    await waitFor('the api to listen', async () => (await fetch(`${base}/healthz`)).ok);

    const notReady = await fetch(`${base}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('cache-control')).toBe('private, no-store');
    const body = (await notReady.json()) as { status: string; error: { postgres: { status: string; message: string } } };
    expect(body.status).toBe('error');
    expect(body.error.postgres.message).toMatch(/^schema at migration 0, code expects \d+: run the migrations$/);
    // Not ready is not dead: liveness stays up, so Kubernetes does not restart it.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const pool = createPool({ connectionString: db.url, applicationName: 'test', max: 1 });
    await migrate(pool);
    await pool.end();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ok', info: { postgres: { status: 'up' } } });

    expect((await fetch(`${base}/api/v1/summary`)).status).toBe(200);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('vigil_process_resident_memory_bytes{service="api"}');
    expect(text).toContain('vigil_api_http_requests_total{method="GET",route="/api/v1/summary",status="200",service="api"} 1');
    expect(text).toMatch(/vigil_api_http_request_duration_seconds_count\{service="api",method="GET",route="\/readyz"\} \d+/);

    await api.stop('SIGTERM');
    expect(await api.exited).toBe(0);
    const messages = (await api.logs()).map((l) => l.msg);
    expect(messages).toEqual(expect.arrayContaining(['listening (status page /, /api/v1, /api/docs, /healthz, /readyz, /metrics)', 'shutting down', 'stopped']));
  });
});
