// Helpers for the prober's integration suites: a migrated database, checks
// rows inserted directly (as the watcher would), prober processes, metrics.
import { randomUUID } from 'node:crypto';
import { createPool, migrate, type Pool } from '@vigil/db';
import { PostgresServer, freePort, startService, waitForReady, type ServiceProcess, type TestDatabase } from '@vigil/testing';

export interface TestDb {
  server: PostgresServer;
  db: TestDatabase;
  pool: Pool;
}

export async function startDatabase(): Promise<TestDb> {
  const server = await PostgresServer.start();
  const db = await server.createDatabase();
  const pool = createPool({ connectionString: db.url, applicationName: 'prober-test', max: 4 });
  await migrate(pool);
  return { server, db, pool };
}

export interface CheckFields {
  uid?: string;
  namespace?: string;
  name?: string;
  generation?: number;
  labels?: Record<string, string>;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  intervalMs?: number;
  timeoutMs?: number;
  expectStatusCodes?: string[];
  expectBodyContains?: string | null;
  failureThreshold?: number;
  successThreshold?: number;
  paused?: boolean;
  state?: 'up' | 'down' | 'pending' | 'paused';
}

/** Inserts a checks row the way the watcher does (due now), then NOTIFY vigil_checks; returns its uid. */
export async function insertCheck(pool: Pool, fields: CheckFields): Promise<string> {
  const [uid] = await insertChecks(pool, [fields]);
  return uid!;
}

export async function insertChecks(pool: Pool, checks: readonly CheckFields[]): Promise<string[]> {
  const rows = checks.map((c, i) => ({
    uid: c.uid ?? randomUUID(),
    namespace: c.namespace ?? 'default',
    name: c.name ?? `check-${i}-${randomUUID().slice(0, 8)}`,
    generation: c.generation ?? 1,
    labels: c.labels ?? {},
    url: c.url,
    method: c.method ?? 'GET',
    headers: c.headers ?? {},
    interval_ms: c.intervalMs ?? 5_000,
    timeout_ms: c.timeoutMs ?? 2_000,
    expect_status_codes: c.expectStatusCodes ?? ['200-399'],
    expect_body_contains: c.expectBodyContains ?? null,
    failure_threshold: c.failureThreshold ?? 1,
    success_threshold: c.successThreshold ?? 1,
    paused: c.paused ?? false,
    state: c.state ?? 'pending',
  }));
  await pool.query(
    `INSERT INTO vigil.checks (uid, namespace, name, generation, labels, url, method, headers, interval_ms, timeout_ms,
       expect_status_codes, expect_body_contains, failure_threshold, success_threshold, paused, state)
     SELECT r.uid, r.namespace, r.name, r.generation, r.labels, r.url, r.method, r.headers, r.interval_ms, r.timeout_ms,
       r.expect_status_codes, r.expect_body_contains, r.failure_threshold, r.success_threshold, r.paused, r.state
     FROM jsonb_to_recordset($1::jsonb) AS r(uid uuid, namespace text, name text, generation bigint, labels jsonb, url text, method text,
       headers jsonb, interval_ms integer, timeout_ms integer, expect_status_codes text[], expect_body_contains text,
       failure_threshold smallint, success_threshold smallint, paused boolean, state text)`,
    [JSON.stringify(rows)],
  );
  await pool.query(`NOTIFY vigil_checks`);
  return rows.map((r) => r.uid);
}

/** Changes spec columns as the watcher does on an edit: generation + 1, due now, NOTIFY. */
export async function editCheck(pool: Pool, uid: string, changes: { url?: string; paused?: boolean }): Promise<void> {
  await pool.query(
    `UPDATE vigil.checks SET url = coalesce($2, url), paused = coalesce($3, paused), generation = generation + 1, next_due_at = now(), updated_at = now()
     WHERE uid = $1`,
    [uid, changes.url ?? null, changes.paused ?? null],
  );
  await pool.query(`NOTIFY vigil_checks`);
}

export async function addReceiver(pool: Pool, name: string, fields: { namespaces?: string[]; matchLabels?: Record<string, string>; events?: string[]; enabled?: boolean } = {}): Promise<void> {
  await pool.query(
    `INSERT INTO vigil.webhook_receivers (name, url, namespaces, match_labels, events, enabled) VALUES ($1, $2, $3, $4, $5, $6)`,
    [name, `http://127.0.0.1:9/${name}`, fields.namespaces ?? [], JSON.stringify(fields.matchLabels ?? {}), fields.events ?? ['check.down', 'check.up'], fields.enabled ?? true],
  );
}

/** Loopback targets are denied by default; the suites allow 127.0.0.1 only (allow overrides deny), except where the guard itself is tested. */
export const ALLOW_LOOPBACK = { SSRF_ALLOW_CIDRS: '127.0.0.1/32' };

export async function startProber(databaseUrl: string, instance: string, env: Record<string, string> = {}, logDir?: string): Promise<ServiceProcess> {
  const opsPort = await freePort();
  const prober = await startService(
    'prober',
    { DATABASE_URL: databaseUrl, POD_NAME: instance, LOG_LEVEL: 'info', ...ALLOW_LOOPBACK, ...env },
    { opsPort, instance, ...(logDir ? { logDir } : {}) },
  );
  await waitForReady(prober, 60_000);
  return prober;
}

/** The value of one sample from /metrics (0 when absent). */
export async function metric(service: ServiceProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${service.opsUrl}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface ResultRow {
  check_uid: string;
  started_at: Date;
  due_at: Date;
  ok: boolean;
  code: number;
  reason: string | null;
  message: string | null;
  prober: string;
  total_ms: number;
  dns_ms: number | null;
  connect_ms: number | null;
  tls_ms: number | null;
  ttfb_ms: number | null;
}

export async function resultsFor(pool: Pool, uid: string): Promise<ResultRow[]> {
  const { rows } = await pool.query<ResultRow>(`SELECT * FROM vigil.probe_results WHERE check_uid = $1 ORDER BY started_at`, [uid]);
  return rows;
}

export async function checkRow(pool: Pool, uid: string): Promise<Record<string, unknown> & { state: string; last_reason: string | null; lease_owner: string | null }> {
  const { rows } = await pool.query(`SELECT * FROM vigil.checks WHERE uid = $1`, [uid]);
  return rows[0];
}

export interface TransitionRow {
  id: number;
  check_uid: string;
  from_state: string;
  to_state: string;
  reason: string | null;
  code: number;
  at: Date;
}

export async function transitionsFor(pool: Pool, uid: string): Promise<TransitionRow[]> {
  const { rows } = await pool.query<TransitionRow>(`SELECT * FROM vigil.transitions WHERE check_uid = $1 ORDER BY id`, [uid]);
  return rows;
}
