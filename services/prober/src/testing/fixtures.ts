// Helpers for the prober's integration suites: a migrated database, checks
// rows written through the watcher's own function (vigil.upsert_checks),
// prober processes, metrics.
import { randomUUID } from 'node:crypto';
import { CHECK_ROW_DEFAULTS, WATCHER_COLUMNS, type CheckState, type CheckUpsert } from '@vigil/contracts';
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
  allowInsecureRedirects?: boolean;
  state?: CheckState;
}

/** Inserts a checks row as the watcher does (due now, NOTIFY vigil_checks); returns its uid. */
export async function insertCheck(pool: Pool, fields: CheckFields): Promise<string> {
  const [uid] = await insertChecks(pool, [fields]);
  return uid!;
}

export async function insertChecks(pool: Pool, checks: readonly CheckFields[]): Promise<string[]> {
  const rows = checks.map((c, i): CheckUpsert => ({
    ...CHECK_ROW_DEFAULTS,
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
    allow_insecure_redirects: c.allowInsecureRedirects ?? false,
    seed_state: c.state ?? 'pending',
  }));
  await pool.query(`SELECT * FROM vigil.upsert_checks($1::jsonb)`, [JSON.stringify(rows)]);
  return rows.map((r) => r.uid);
}

/** Changes spec columns as the watcher does on an edit: generation + 1 (so due now), NOTIFY. */
export async function editCheck(pool: Pool, uid: string, changes: { url?: string; paused?: boolean }): Promise<void> {
  const { rows } = await pool.query<CheckUpsert>(`SELECT ${WATCHER_COLUMNS.join(', ')}, NULL AS seed_state, NULL AS seed_state_since FROM vigil.checks WHERE uid = $1`, [uid]);
  const row = rows[0]!;
  const edited: CheckUpsert = { ...row, generation: row.generation + 1, url: changes.url ?? row.url, paused: changes.paused ?? row.paused };
  await pool.query(`SELECT * FROM vigil.upsert_checks($1::jsonb)`, [JSON.stringify([edited])]);
}

/** Deletes a check's row as the watcher does when the object goes (NOTIFY vigil_checks). */
export async function retireCheck(pool: Pool, uid: string): Promise<void> {
  await pool.query(`SELECT vigil.retire_checks(ARRAY[$1::uuid])`, [uid]);
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
