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
    const failing = await startService(
      'api',
      { DATABASE_URL: 'mysql://nope', PORT: 'http', STATUS_PAGE_REFRESH: '10', STATUS_PAGE_SHOW_URLS: 'maybe', AUTH_AUDIENCE: 'two words', TRUSTED_PROXIES: '10.0.0.0/8,traefik' },
      { opsPort: 1 },
    );
    expect(await failing.exited).toBe(1);
    const [report] = await failing.logs();
    expect(report).toMatchObject({ level: 'fatal', service: 'api', msg: 'invalid configuration' });
    expect(report!.problems).toEqual([
      'DATABASE_URL=<redacted> is invalid: expected a URL with scheme postgres or postgresql',
      'PORT="http" is invalid: expected an integer',
      'STATUS_PAGE_SHOW_URLS="maybe" is invalid: expected true or false',
      'STATUS_PAGE_REFRESH="10" is invalid: expected a duration like 500ms, 30s, 5m, 1h30m or 7d, got "10"',
      'AUTH_AUDIENCE="two words" is invalid: expected an audience of 1 to 253 printable characters without spaces',
      'TRUSTED_PROXIES="10.0.0.0/8,traefik" is invalid: not a CIDR: traefik',
    ]);
  });

  it('serves the public port (bare health) and the ops port (metrics, readiness with the reason), and exits 0 on SIGTERM', async () => {
    const [port, opsPort] = [await freePort(), await freePort()];
    api = await startService('api', { DATABASE_URL: db.url, PORT: String(port), OPS_PORT: String(opsPort) }, { opsPort });
    const base = `http://127.0.0.1:${port}`;
    const ops = `http://127.0.0.1:${opsPort}`;
    await waitFor('the api to listen', async () => (await fetch(`${ops}/healthz`).catch(() => undefined))?.ok === true);

    // Not ready: the ops port says why, the public port only that it is not.
    const notReady = await fetch(`${ops}/readyz`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('cache-control')).toBe('no-store');
    const body = (await notReady.json()) as { status: string; checks: { postgres: string } };
    expect(body.status).toBe('unavailable');
    expect(body.checks.postgres).toMatch(/^schema at migration 0, code expects \d+: run the migrations$/);
    const publicNotReady = await fetch(`${base}/readyz`);
    expect(publicNotReady.status).toBe(503);
    expect(publicNotReady.headers.get('cache-control')).toBe('private, no-store');
    expect(await publicNotReady.json()).toEqual({ status: 'unavailable' });
    // Not ready is not dead: liveness stays up, so Kubernetes does not restart it.
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);

    const pool = createPool({ connectionString: db.url, applicationName: 'test', max: 1 });
    await migrate(pool);
    await pool.end();
    const ready = await fetch(`${ops}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok', checks: { postgres: 'ok' } });
    const publicReady = await fetch(`${base}/readyz`);
    expect(publicReady.status).toBe(200);
    expect(await publicReady.json()).toEqual({ status: 'ok' });

    expect((await fetch(`${base}/api/v1/summary`)).status).toBe(200);
    // /metrics is not on the public port (the one the Ingress routes), only on the ops port.
    const publicMetrics = await fetch(`${base}/metrics`);
    expect(publicMetrics.status).toBe(404);
    expect(await publicMetrics.text()).not.toContain('vigil_');
    const metrics = await fetch(`${ops}/metrics`);
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toContain('vigil_process_resident_memory_bytes{service="api"}');
    expect(text).toContain('vigil_api_http_requests_total{method="GET",route="/api/v1/summary",status="200",service="api"} 1');
    expect(text).toContain('vigil_api_http_requests_total{method="GET",route="unmatched",status="404",service="api"} 1');
    expect(text).toMatch(/vigil_api_http_request_duration_seconds_count\{service="api",method="GET",route="\/readyz"\} \d+/);

    await api.stop('SIGTERM');
    expect(await api.exited).toBe(0);
    const messages = (await api.logs()).map((l) => l.msg);
    expect(messages).toEqual(
      expect.arrayContaining(['listening (status page /, /api/v1, /api/docs, /healthz, /readyz)', 'ops server listening (/metrics, /healthz, /readyz)', 'shutting down', 'stopped']),
    );
  });
});
