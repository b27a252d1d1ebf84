// Alerter benchmark (not part of `make test`). Run from the repository root
// after `nx run alerter:build`:
//
//   node bench/alerter/bench.ts [--transitions 200] [--deliveries 3000] [--concurrency 4,16]
//
// It starts a real Postgres, a real kube-apiserver and the built alerter, and
// plays the prober's part: the transaction that records a failing probe's
// transition (checks state, transitions row, outbox row, NOTIFY). Measured
// from that COMMIT, on one clock (this process):
//   - webhook received by a local receiver      (goal p99 <= 250 ms)
//   - UptimeCheck status showing the new state   (goal p99 <= 1 s), seen through a watch
// and, separately, deliveries per second to a fast local receiver.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiextensionsV1Api, CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { createPool, migrate, type Pool } from '@vigil/db';
import { UPTIME_CHECK, loadUptimeCheckCrd, type UptimeCheck } from '@vigil/k8s';
import { ControlPlane, PostgresServer, freePort, startService, waitFor, waitForReady, type ServiceProcess } from '@vigil/testing';
import { generateSecret, newMessageId } from '@vigil/webhooks';

const { values: args } = parseArgs({
  options: {
    transitions: { type: 'string', default: '200' },
    deliveries: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '4,16' },
  },
});
const TRANSITIONS = Number(args.transitions);
const DELIVERIES = Number(args.deliveries);
const CONCURRENCIES = args.concurrency!.split(',').map(Number);
const CHECKS = 50;
const NS = 'default';

const log = (msg: string) => process.stdout.write(`[bench] ${msg}\n`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const summary = (values: number[]) => {
  const s = [...values].sort((a, b) => a - b);
  return { n: s.length, p50: +percentile(s, 50).toFixed(1), p90: +percentile(s, 90).toFixed(1), p99: +percentile(s, 99).toFixed(1), max: +s[s.length - 1]!.toFixed(1) };
};

interface Check {
  uid: string;
  name: string;
  url: string;
  state: 'pending' | 'up' | 'down';
}

/** The prober's transaction for one transition, as DESIGN.md describes it. */
async function proberTransition(pool: Pool, check: Check, to: 'up' | 'down', receiver: string): Promise<{ id: string; since: string }> {
  const at = new Date();
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const code = to === 'up' ? 200 : 0;
    const reason = to === 'down' ? 'ConnectionRefused' : null;
    await client.query(
      `UPDATE vigil.checks SET state = $2, state_since = $3, last_code = $4, last_latency_ms = 12, last_reason = $5, last_probe_at = $3 WHERE uid = $1`,
      [check.uid, to, at, code, reason],
    );
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason)
       VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, 12, $9) RETURNING id`,
      [check.uid, NS, check.name, check.url, check.state, to, at, code, reason],
    );
    const id = newMessageId();
    const payload = {
      type: `check.${to}`,
      timestamp: at.toISOString(),
      data: { check: { namespace: NS, name: check.name, uid: check.uid, url: check.url }, from: check.state, to, since: at.toISOString(), code, latencyMs: 12, reason, message: null },
    };
    await client.query(`INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload) VALUES ($1, $2, $3, $4, $5)`, [
      id,
      rows[0]!.id,
      receiver,
      payload.type,
      JSON.stringify(payload),
    ]);
    await client.query(`SELECT pg_notify('vigil_transitions', $1)`, [String(rows[0]!.id)]);
    await client.query('COMMIT');
    check.state = to;
    return { id, since: at.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  } finally {
    client.release();
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-alerter-'));
  const postgres = await PostgresServer.start();
  const plane = await ControlPlane.start();
  const alerters: ServiceProcess[] = [];
  const arrivals = new Map<string, number>();
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      arrivals.set(String(req.headers['webhook-id']), performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  try {
    const db = await postgres.createDatabase('vigil_bench');
    const pool = createPool({ connectionString: db.url, applicationName: 'bench', max: 8 });
    await migrate(pool);
    const kc = plane.kubeConfig();
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
    await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
    const objects = kc.makeApiClient(CustomObjectsApi);
    const checks: Check[] = [];
    for (let i = 0; i < CHECKS; i++) {
      const name = `bench-${i}`;
      const url = `https://${name}.example.com/`;
      const created = (await objects.createNamespacedCustomObject({
        group: UPTIME_CHECK.group,
        version: UPTIME_CHECK.version,
        plural: UPTIME_CHECK.plural,
        namespace: NS,
        body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name }, spec: { url } },
      })) as UptimeCheck;
      const uid = created.metadata.uid!;
      await pool.query(`INSERT INTO vigil.checks (uid, namespace, name, generation, url, interval_ms, timeout_ms) VALUES ($1, $2, $3, 1, $4, 30000, 10000)`, [uid, NS, name, url]);
      checks.push({ uid, name, url, state: 'pending' });
    }
    const receiversDir = join(dir, 'receivers');
    await mkdir(receiversDir);
    const receiversFile = join(receiversDir, 'receivers.json');
    await writeFile(receiversFile, JSON.stringify({ receivers: [{ name: 'bench', url: receiverUrl, secrets: [generateSecret()] }] }));
    const start = async (concurrency: number) => {
      const alerter = await startService(
        'alerter',
        {
          DATABASE_URL: db.url,
          KUBECONFIG: plane.kubeconfigPath,
          RECEIVERS_FILE: receiversFile,
          SSRF_ALLOW_CIDRS: '127.0.0.1/32',
          WEBHOOK_RECEIVER_CONCURRENCY: String(concurrency),
          LOG_LEVEL: 'info',
          POD_NAME: `bench-${concurrency}`,
        },
        { opsPort: await freePort(), logDir: dir, instance: `alerter-c${concurrency}-${randomUUID().slice(0, 4)}` },
      );
      alerters.push(alerter);
      await waitForReady(alerter);
      return alerter;
    };

    // Latency: the default configuration (concurrency 4, STATUS_PATCH_QPS 10).
    const alerter = await start(4);
    const seen = new Map<string, string>();
    const statusSeen = new Map<string, number>();
    const watch = await new Watch(kc).watch(
      `/apis/${UPTIME_CHECK.group}/${UPTIME_CHECK.version}/namespaces/${NS}/${UPTIME_CHECK.plural}`,
      {},
      (_type, obj: UptimeCheck) => {
        const key = `${obj.metadata.name}/${obj.status?.state}/${obj.status?.since}`;
        if (!seen.has(key)) {
          seen.set(key, '');
          statusSeen.set(key, performance.now());
        }
      },
      () => undefined,
    );
    await waitFor('every check to have its first status', async () => [...seen.keys()].filter((k) => k.includes('/pending/')).length >= CHECKS, { timeoutMs: 60_000 });
    log(`latency: ${TRANSITIONS} transitions, one at a time, ${CHECKS} checks`);
    const toWebhook: number[] = [];
    const toStatus: number[] = [];
    for (let i = 0; i < TRANSITIONS; i++) {
      const check = checks[i % CHECKS]!;
      const to = check.state === 'down' ? 'up' : 'down';
      const t = await proberTransition(pool, check, to, 'bench');
      const committed = performance.now();
      const key = `${check.name}/${to}/${t.since}`;
      await waitFor(`webhook and status for ${key}`, () => arrivals.has(t.id) && statusSeen.has(key), { timeoutMs: 30_000, intervalMs: 2 });
      toWebhook.push(arrivals.get(t.id)! - committed);
      toStatus.push(statusSeen.get(key)! - committed);
      // Keep within the default 10 patches+events/s, as a real fleet's transitions would be spread.
      await new Promise((r) => setTimeout(r, 250));
    }
    watch.abort();
    const latency = { commitToWebhookMs: summary(toWebhook), commitToStatusMs: summary(toStatus) };
    log(JSON.stringify(latency));
    await alerter.stop();

    // Throughput: a backlog of deliveries to one fast receiver.
    const throughput: Record<string, number> = {};
    for (const concurrency of CONCURRENCIES) {
      await pool.query(`TRUNCATE vigil.webhook_deliveries, vigil.webhook_attempts`);
      arrivals.clear();
      const a = await start(concurrency);
      const { rows } = await pool.query<{ id: number }>(`SELECT id FROM vigil.transitions ORDER BY id LIMIT 1`);
      const started = performance.now();
      await pool.query(
        `WITH outbox AS (
           INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload)
           SELECT 'msg_bench_' || g, $1, 'bench', 'check.down', $2::jsonb FROM generate_series(1, $3) AS g
         )
         SELECT pg_notify('vigil_transitions', '')`,
        [rows[0]!.id, JSON.stringify({ type: 'check.down', timestamp: new Date().toISOString(), data: { bench: true } }), DELIVERIES],
      );
      await waitFor(`${DELIVERIES} deliveries`, () => arrivals.size >= DELIVERIES, { timeoutMs: 300_000, intervalMs: 20 });
      const seconds = (performance.now() - started) / 1000;
      throughput[`concurrency ${concurrency}`] = Math.round(DELIVERIES / seconds);
      log(`deliveries/s with WEBHOOK_RECEIVER_CONCURRENCY=${concurrency}: ${throughput[`concurrency ${concurrency}`]} (${DELIVERIES} in ${seconds.toFixed(2)} s)`);
      await a.stop();
    }
    process.stdout.write(`${JSON.stringify({ latency, deliveriesPerSecond: throughput })}\n`);
    await pool.end();
  } finally {
    for (const a of alerters) await a.stop();
    receiver.close();
    await plane.stop();
    await postgres.destroy();
  }
}

main().catch((err) => {
  process.stderr.write(`[bench] failed: ${(err as Error).stack}\n`);
  process.exitCode = 1;
});
