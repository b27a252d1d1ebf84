// Alert latency (issue 10 item 2, goal P2: alert p99 <= 250 ms, status p99 <= 1 s).
// Not part of `make test`. From the repository root, after `nx run-many -t build`:
//
//   node bench/alerter/bench.ts                 # 60 checks, 200 transitions per run at 2/s, 3 runs
//   node bench/alerter/bench.ts --quick         # 20 checks, 40 transitions, 1 run; prints, publishes nothing
//   node bench/alerter/bench.ts --runs 1 --checks 60 --transitions 200 --rate 2 --deliveries 2000
//
// The whole pipeline, as it ships: VigilStack from @vigil/testing starts a real
// Postgres, a real kube-apiserver + etcd + controller-manager (RBAC on, the chart's RBAC rendered by
// helm, each service with its own ServiceAccount token), and the built watcher,
// prober and alerter as processes with default settings. UptimeChecks are
// created through the API server and point at a local flip target
// (./flip-target.ts), which turns a check down or up under one of its probes,
// at a fixed rate. The webhook receiver is the stack's: it verifies every
// delivery's Standard Webhooks signature with the reference library.
//
// Per transition, from the failing (or recovering) probe's completion — the
// prober's own record, `transitions.at + latency_ms` (probe start + total
// duration; every process shares this machine's clock) — to:
//   - the webhook received by the receiver (body read, signature verified);
//   - the UptimeCheck status showing the new state and `since`, seen through a watch here.
// Where the time goes comes from the rows the services write: the transition
// transaction's start (`transitions.created_at`), the alerter's first attempt
// (`webhook_attempts.started_at`) and `transitions.status_applied_at`.
// Then, separately, deliveries/s for a backlog to the same (fast) receiver.
import { mkdtemp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CustomObjectsApi, Watch } from '@kubernetes/client-node';
import { CHANNELS } from '@vigil/contracts';
import { createPool, type Pool, type PoolClient } from '@vigil/db';
import { UPTIME_CHECK, type UptimeCheck } from '@vigil/k8s';
import { VigilStack, waitFor, type ServiceProcess } from '@vigil/testing';
import { log, machine, percentile, publish, repeat, runsFromArgs, spreadTable, type SpreadRow, runBenchmark } from '../lib/report.ts';
import { FlipTarget, wallClock, type Flip } from './flip-target.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string' },
    quick: { type: 'boolean', default: false },
    checks: { type: 'string', default: '60' },
    transitions: { type: 'string', default: '200' },
    rate: { type: 'string', default: '2' },
    deliveries: { type: 'string', default: '2000' },
    logs: { type: 'string' },
  },
});
const given = (name: string) => process.argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
const pick = (name: 'checks' | 'transitions' | 'deliveries', quick: string) => Number(values.quick && !given(name) ? quick : values[name]!);
const CHECKS = pick('checks', '20');
const TRANSITIONS = pick('transitions', '40');
const DELIVERIES = pick('deliveries', '500');
const RATE = Number(values.rate);
const RUNS = values.quick && !given('runs') ? 1 : runsFromArgs();
const NS = 'default';
const INTERVAL = '5s';
const INTERVAL_MS = 5_000;
/** A check flips again only after two probe intervals, so its previous transition is shown before the next one starts. */
const MIN_GAP_MS = 2 * INTERVAL_MS;
const RECEIVER = 'recorder';

const checkName = (i: number) => `flip-${i}`;
/** UptimeCheck status times are whole seconds (`k8sTime` in the alerter). */
const k8sSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- queries (epoch milliseconds as float8, so no precision is lost to Date) ----

interface TransitionRow {
  id: number;
  name: string;
  to_state: string;
  at_ms: number;
  latency_ms: number;
  tx_began_ms: number;
  status_applied_ms: number | null;
  delivery_id: string | null;
  attempts: number | null;
  attempt_started_ms: number | null;
}

async function transitionsAfter(pool: Pool, afterId: number): Promise<TransitionRow[]> {
  const { rows } = await pool.query<TransitionRow>(
    `SELECT t.id::int AS id, t.name, t.to_state,
            (extract(epoch FROM t.at) * 1000)::float8 AS at_ms,
            t.latency_ms,
            (extract(epoch FROM t.created_at) * 1000)::float8 AS tx_began_ms,
            (extract(epoch FROM t.status_applied_at) * 1000)::float8 AS status_applied_ms,
            d.id AS delivery_id, d.attempts,
            (extract(epoch FROM a.started_at) * 1000)::float8 AS attempt_started_ms
       FROM vigil.transitions t
       LEFT JOIN vigil.webhook_deliveries d ON d.transition_id = t.id AND d.receiver = $2
       LEFT JOIN vigil.webhook_attempts a ON a.delivery_id = d.id AND a.attempt = 1
      WHERE t.id > $1
      ORDER BY t.id`,
    [afterId, RECEIVER],
  );
  return rows;
}

async function lastTransitionId(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(`SELECT coalesce(max(id), 0)::int AS id FROM vigil.transitions`);
  return rows[0]!.id;
}

/** Transitions not yet shown in status, and deliveries not yet sent or not yet shown. */
async function unfinishedWork(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT ((SELECT count(*) FROM vigil.transitions WHERE status_applied_at IS NULL)
           + (SELECT count(*) FROM vigil.webhook_deliveries WHERE status = 'pending' OR report_pending))::int AS n`,
  );
  return rows[0]!.n;
}

/**
 * A backlog of `count` deliveries to the receiver for one real transition,
 * written in one statement by the prober's outbox function, then one NOTIFY.
 * Returns their webhook-ids.
 */
async function insertBacklog(pool: Pool, count: number): Promise<Set<string>> {
  const { rows } = await pool.query<{ delivery_id: string }>(
    `WITH model AS (SELECT transition_id, event_type FROM vigil.webhook_deliveries WHERE receiver = $1 ORDER BY transition_id LIMIT 1)
     SELECT q.delivery_id FROM model m, vigil.enqueue_webhooks(m.transition_id, m.event_type, array_fill($1::text, ARRAY[$2::int])) AS q`,
    [RECEIVER, count],
  );
  await pool.query(`SELECT pg_notify($1, '')`, [CHANNELS.transitions]);
  return new Set(rows.map((r) => r.delivery_id));
}

// ---- the alerter's metrics (to show what the QPS budget did) ----

async function scrape(service: ServiceProcess): Promise<string> {
  return (await fetch(`${service.opsUrl}/metrics`)).text();
}

/** Sum of a metric's samples whose label text contains `labels`. */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (!(rest.startsWith(' ') || rest.startsWith('{'))) continue;
    if (labels && !rest.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

// ---- one latency run ----

interface LatencyRun {
  transitions: number;
  flipsPerSecond: number;
  webhookP50: number;
  webhookP99: number;
  webhookMax: number;
  statusP50: number;
  statusP99: number;
  statusMax: number;
  downWebhookP99: number;
  downStatusP99: number;
  proberQueueP50: number;
  proberQueueP99: number;
  proberTxP50: number;
  proberTxP99: number;
  wakeClaimP50: number;
  wakeClaimP99: number;
  postP50: number;
  postP99: number;
  appliedP50: number;
  appliedP99: number;
  /** Status + Event API calls per second over the run, of STATUS_PATCH_QPS (10). */
  apiCallsPerSecond: number;
  /** API calls that waited more than 10 ms for the QPS budget, and the mean wait. */
  budgetWaitsOver10ms: number;
  budgetWaitMeanMs: number;
  /** The prober's recorded completion minus the flip target's response sent, median (its clock-offset estimate's error plus response handling). */
  proberVsTargetMs: number;
  /** Event-loop delay over the run (prom-client's monitorEventLoopDelay, reset at each scrape) and the machine's 1-minute load average at its end: CPU contention shows here. */
  alerterLoopLagP99Ms: number;
  alerterLoopLagMaxMs: number;
  proberLoopLagP99Ms: number;
  proberLoopLagMaxMs: number;
  loadAverage1m: number;
  missingWebhook: number;
  missingStatus: number;
  /** Deliveries that needed more than one attempt (a failed or lost first attempt). */
  retriedDeliveries: number;
  unmatchedTransitions: number;
  unverifiedDeliveries: number;
}

interface Context {
  stack: VigilStack;
  pool: Pool;
  target: FlipTarget;
  alerter: ServiceProcess;
  prober: ServiceProcess;
  statusSeen: Map<string, number>;
  /** When this process's own LISTEN saw each transition's NOTIFY (payload: the transition id), i.e. about when it committed. */
  notified: Map<number, number>;
}

async function settle(ctx: Context): Promise<void> {
  await waitFor('the alerter to finish its work', async () => (await unfinishedWork(ctx.pool)) === 0, { timeoutMs: 120_000, intervalMs: 250 });
}

async function latencyRun(ctx: Context): Promise<LatencyRun> {
  const { pool, target, statusSeen, stack } = ctx;
  await settle(ctx);
  const afterId = await lastTransitionId(pool);
  const metricsBefore = await scrape(ctx.alerter);
  await scrape(ctx.prober);
  const started = wallClock();
  const flips = await target.flipAtRate(RATE, TRANSITIONS);
  const flipSeconds = (wallClock() - started) / 1000;
  const arrivals = () => {
    const first = new Map<string, number>();
    for (const r of stack.receiver.received) if (r.verified && !first.has(r.id)) first.set(r.id, r.receivedAt);
    return first;
  };
  const statusKey = (r: TransitionRow) => `${r.name}/${r.to_state}/${k8sSecond(r.at_ms)}`;
  let rows: TransitionRow[] = [];
  try {
    await waitFor(
      `${flips.length} transitions delivered and shown`,
      async () => {
        rows = await transitionsAfter(pool, afterId);
        const seen = arrivals();
        return rows.length >= flips.length && rows.every((r) => r.delivery_id && seen.has(r.delivery_id) && statusSeen.has(statusKey(r)));
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  } catch (err) {
    log(`not everything arrived: ${(err as Error).message}; the run reports what did`);
  }
  const windowSeconds = (wallClock() - started) / 1000;
  const metricsAfter = await scrape(ctx.alerter);
  const proberMetrics = await scrape(ctx.prober);
  const loadAverage1m = Math.round(loadavg()[0]! * 100) / 100;
  const lagMs = (text: string, name: string) => Math.round(metric(text, `vigil_nodejs_eventloop_lag_${name}_seconds`) * 1000 * 10) / 10;
  rows = await transitionsAfter(pool, afterId);
  const seen = arrivals();

  const webhook: number[] = [];
  const status: number[] = [];
  const downWebhook: number[] = [];
  const downStatus: number[] = [];
  const proberQueue: number[] = [];
  const proberTx: number[] = [];
  const wakeClaim: number[] = [];
  const post: number[] = [];
  const applied: number[] = [];
  const proberVsTarget: number[] = [];
  let missingWebhook = 0;
  let missingStatus = 0;
  let unmatched = 0;
  const flipsByCheck = new Map<string, Flip[]>();
  for (const f of flips) flipsByCheck.set(checkName(f.check), [...(flipsByCheck.get(checkName(f.check)) ?? []), f]);
  for (const r of rows) {
    const completed = r.at_ms + r.latency_ms;
    const arrived = r.delivery_id ? seen.get(r.delivery_id) : undefined;
    const shown = statusSeen.get(statusKey(r));
    if (arrived === undefined) missingWebhook++;
    else {
      webhook.push(arrived - completed);
      if (r.to_state === 'down') downWebhook.push(arrived - completed);
      if (r.attempt_started_ms !== null) post.push(arrived - r.attempt_started_ms);
    }
    if (shown === undefined) missingStatus++;
    else {
      status.push(shown - completed);
      if (r.to_state === 'down') downStatus.push(shown - completed);
    }
    proberQueue.push(r.tx_began_ms - completed);
    const notifiedAt = ctx.notified.get(r.id);
    if (notifiedAt !== undefined) {
      proberTx.push(notifiedAt - r.tx_began_ms);
      if (r.attempt_started_ms !== null) wakeClaim.push(r.attempt_started_ms - notifiedAt);
      if (r.status_applied_ms !== null) applied.push(r.status_applied_ms - notifiedAt);
    }
    // The flip this transition came from: same check and direction, response sent closest to the recorded completion.
    const candidates = (flipsByCheck.get(r.name) ?? []).filter((f) => f.to === r.to_state && Math.abs(f.sentAt - completed) < 1_000);
    const flip = candidates.sort((a, b) => Math.abs(a.sentAt - completed) - Math.abs(b.sentAt - completed))[0];
    if (flip) proberVsTarget.push(completed - flip.sentAt);
    else unmatched++;
  }
  const delta = (name: string, labels = '') => metric(metricsAfter, name, labels) - metric(metricsBefore, name, labels);
  const waits = delta('vigil_alerter_patch_budget_wait_seconds_count');
  const p = (values: number[], q: number) => Math.round(percentile(values, q) * 10) / 10;
  return {
    transitions: rows.length,
    flipsPerSecond: Math.round((flips.length / flipSeconds) * 100) / 100,
    webhookP50: p(webhook, 50),
    webhookP99: p(webhook, 99),
    webhookMax: p(webhook, 100),
    statusP50: p(status, 50),
    statusP99: p(status, 99),
    statusMax: p(status, 100),
    downWebhookP99: p(downWebhook, 99),
    downStatusP99: p(downStatus, 99),
    proberQueueP50: p(proberQueue, 50),
    proberQueueP99: p(proberQueue, 99),
    proberTxP50: p(proberTx, 50),
    proberTxP99: p(proberTx, 99),
    wakeClaimP50: p(wakeClaim, 50),
    wakeClaimP99: p(wakeClaim, 99),
    postP50: p(post, 50),
    postP99: p(post, 99),
    appliedP50: p(applied, 50),
    appliedP99: p(applied, 99),
    apiCallsPerSecond: Math.round(((delta('vigil_alerter_status_patches_total') + delta('vigil_alerter_events_total')) / windowSeconds) * 100) / 100,
    budgetWaitsOver10ms: waits - delta('vigil_alerter_patch_budget_wait_seconds_bucket', 'le="0.01"'),
    budgetWaitMeanMs: waits > 0 ? Math.round((delta('vigil_alerter_patch_budget_wait_seconds_sum') / waits) * 1000 * 10) / 10 : 0,
    proberVsTargetMs: p(proberVsTarget, 50),
    alerterLoopLagP99Ms: lagMs(metricsAfter, 'p99'),
    alerterLoopLagMaxMs: lagMs(metricsAfter, 'max'),
    proberLoopLagP99Ms: lagMs(proberMetrics, 'p99'),
    proberLoopLagMaxMs: lagMs(proberMetrics, 'max'),
    loadAverage1m,
    missingWebhook,
    missingStatus,
    retriedDeliveries: rows.filter((r) => (r.attempts ?? 0) > 1).length,
    unmatchedTransitions: unmatched,
    unverifiedDeliveries: stack.receiver.received.filter((r) => !r.verified).length,
  };
}

// ---- one throughput run ----

interface ThroughputRun {
  deliveries: number;
  seconds: number;
  deliveriesPerSecond: number;
}

async function throughputRun(ctx: Context): Promise<ThroughputRun> {
  await settle(ctx);
  const started = wallClock();
  const backlog = await insertBacklog(ctx.pool, DELIVERIES);
  const received = () => new Set(ctx.stack.receiver.received.filter((r) => r.verified && backlog.has(r.id)).map((r) => r.id)).size;
  await waitFor(`${DELIVERIES} backlog deliveries`, () => received() >= DELIVERIES, { timeoutMs: 300_000, intervalMs: 20 });
  const last = Math.max(...ctx.stack.receiver.received.filter((r) => backlog.has(r.id)).map((r) => r.receivedAt));
  const seconds = (last - started) / 1000;
  return { deliveries: DELIVERIES, seconds: Math.round(seconds * 100) / 100, deliveriesPerSecond: Math.round(DELIVERIES / seconds) };
}

// ---- the report ----

function report(latency: LatencyRun[], throughput: ThroughputRun[]): string {
  const row = (label: string, key: keyof LatencyRun, unit: string, goal?: string, digits?: number): SpreadRow => ({
    label,
    unit,
    runs: latency.map((r) => r[key]),
    ...(goal ? { goal } : {}),
    ...(digits !== undefined ? { digits } : {}),
  });
  const median = (key: keyof LatencyRun) => {
    const sorted = latency.map((r) => r[key]).sort((a, b) => a - b);
    return sorted[Math.floor((sorted.length - 1) / 2)]!;
  };
  const verdict = (value: number, goal: number) => (value <= goal ? 'met' : 'missed');
  const segments = [
    ['the prober: probe done → transition transaction begun', median('proberQueueP99')],
    ['the prober: transition transaction begun → its NOTIFY delivered', median('proberTxP99')],
    ['the alerter: NOTIFY → first attempt started (wake-up, claim)', median('wakeClaimP99')],
    ['the POST: attempt started → received', median('postP99')],
  ] as const;
  const largest = [...segments].sort((a, b) => b[1] - a[1])[0]!;
  const lines = [
    `${CHECKS} UptimeChecks (interval ${INTERVAL}, timeout 2s, thresholds 1) created through the kube-apiserver, each probing its own path on a local flip target (a loopback Node server answering 200 or 503). ` +
      `The whole stack runs as it ships (VigilStack: real Postgres, kube-apiserver + etcd with the chart's RBAC and one ServiceAccount token per service, the built watcher, prober and alerter, default settings: STATUS_PATCH_QPS 10, WEBHOOK_RECEIVER_CONCURRENCY 4, STATUS_REFRESH_PERIOD 60s). ` +
      `The target flips one check per tick, ${RATE}/s, under the probe that arrives next (a check flips again only after ${MIN_GAP_MS / 1000} s), alternating down and up: ${TRANSITIONS} transitions per run, ${RUNS} run(s) on one stack. ` +
      `Each transition costs the alerter 3 API calls (status patch, Event, lastDelivery patch), so ${RATE}/s uses about ${RATE * 3} of its 10 calls/s plus refreshes; the table shows what was used and whether anything waited for the budget.`,
    `Latency is measured from the probe's completion as the prober records it (\`transitions.at + latency_ms\`: start + total duration; one machine clock) to the webhook received by a receiver that verifies each Standard Webhooks signature, and to the UptimeCheck status showing the new state and \`since\`, seen by a watch in the benchmark process.`,
    '',
    spreadTable([
      row('probe done → webhook received, p50', 'webhookP50', 'ms'),
      row('probe done → webhook received, p99', 'webhookP99', 'ms', 'P2: ≤ 250 ms'),
      row('probe done → webhook received, max', 'webhookMax', 'ms'),
      row('probe done → webhook received, p99, `check.down` only', 'downWebhookP99', 'ms', 'P2: ≤ 250 ms'),
      row('probe done → status seen by a watch, p50', 'statusP50', 'ms'),
      row('probe done → status seen by a watch, p99', 'statusP99', 'ms', 'P2: ≤ 1,000 ms'),
      row('probe done → status seen by a watch, max', 'statusMax', 'ms'),
      row('probe done → status seen, p99, `down` only', 'downStatusP99', 'ms', 'P2: ≤ 1,000 ms'),
      row('transitions measured', 'transitions', '', `≥ 200`, 0),
      row('flips per second (achieved)', 'flipsPerSecond', '/s', undefined, 2),
      row('status + Event API calls per second', 'apiCallsPerSecond', '/s', 'budget 10/s', 2),
      row('API calls that waited > 10 ms for the QPS budget', 'budgetWaitsOver10ms', '', undefined, 0),
    ]),
    '',
    'Where the time goes (per transition, from the rows the services write — `transitions.created_at` is the transaction’s start, `webhook_attempts.started_at` the first attempt’s — and from a LISTEN on `vigil_transitions` in the benchmark process; medians over runs of each run’s p50 and p99):',
    '',
    spreadTable([
      row('prober: probe done → transition transaction begun, p50', 'proberQueueP50', 'ms'),
      row('prober: probe done → transition transaction begun, p99', 'proberQueueP99', 'ms'),
      row('prober: transaction begun → NOTIFY delivered (statements + commit), p50', 'proberTxP50', 'ms'),
      row('prober: transaction begun → NOTIFY delivered (statements + commit), p99', 'proberTxP99', 'ms'),
      row('alerter: NOTIFY → first attempt started (wake-up + claim), p50', 'wakeClaimP50', 'ms'),
      row('alerter: NOTIFY → first attempt started (wake-up + claim), p99', 'wakeClaimP99', 'ms'),
      row('POST: attempt started → received, p50', 'postP50', 'ms'),
      row('POST: attempt started → received, p99', 'postP99', 'ms'),
      row('alerter: NOTIFY → status patched + Event written (`status_applied_at`), p50', 'appliedP50', 'ms'),
      row('alerter: NOTIFY → status patched + Event written (`status_applied_at`), p99', 'appliedP99', 'ms'),
      row('prober’s recorded completion − target’s response sent, median', 'proberVsTargetMs', 'ms'),
      row('alerter event-loop delay over the run, p99', 'alerterLoopLagP99Ms', 'ms'),
      row('alerter event-loop delay over the run, max', 'alerterLoopLagMaxMs', 'ms'),
      row('prober event-loop delay over the run, p99', 'proberLoopLagP99Ms', 'ms'),
      row('prober event-loop delay over the run, max', 'proberLoopLagMaxMs', 'ms'),
      row('machine 1-minute load average at the end of the run (2 cores)', 'loadAverage1m', '', undefined, 2),
    ]),
    '',
    `Deliveries per second: a backlog of ${DELIVERIES.toLocaleString('en-US')} deliveries (copies of a real one) inserted in one transaction with one NOTIFY, to the same verifying receiver, one alerter with the default 4 in-flight slots per receiver; from the insert to the last arrival.`,
    '',
    spreadTable([{ label: 'deliveries/s, one receiver, WEBHOOK_RECEIVER_CONCURRENCY=4', unit: '/s', runs: throughput.map((t) => t.deliveriesPerSecond) }]),
    '',
    `What the figures say: webhook p99 ${median('webhookP99')} ms (goal 250 ms: ${verdict(median('webhookP99'), 250)}), status p99 ${median('statusP99')} ms (goal 1,000 ms: ${verdict(median('statusP99'), 1000)}). ` +
      `Of the webhook path at p99, the largest part is ${largest[0]} (${largest[1]} ms). ` +
      `Missing in any run: ${Math.max(...latency.map((r) => r.missingWebhook))} webhooks, ${Math.max(...latency.map((r) => r.missingStatus))} statuses; deliveries retried: ${Math.max(...latency.map((r) => r.retriedDeliveries))}; transitions not matched to a flip: ${Math.max(...latency.map((r) => r.unmatchedTransitions))}; deliveries failing signature verification: ${Math.max(...latency.map((r) => r.unverifiedDeliveries))}.`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const before = machine();
  const logDir = values.logs ?? (await mkdtemp(join(tmpdir(), 'vigil-bench-alerter-logs-')));
  const target = await FlipTarget.start(CHECKS, MIN_GAP_MS);
  let stack: VigilStack | undefined;
  let pool: Pool | undefined;
  let watch: AbortController | undefined;
  let listener: PoolClient | undefined;
  const began = Date.now();
  try {
    log(`starting the stack (logs in ${logDir})`);
    const quiet = { LOG_LEVEL: 'info' };
    stack = await VigilStack.start({ watchers: 1, probers: 1, alerters: 1, apis: 0, logDir, env: { watcher: quiet, prober: quiet, alerter: quiet } });
    pool = createPool({ connectionString: stack.db.url, applicationName: 'bench-alerter', max: 4 });
    const kc = stack.plane.kubeConfig();
    const objects = kc.makeApiClient(CustomObjectsApi);
    const statusSeen = new Map<string, number>();
    const states = new Map<string, string>();
    watch = await new Watch(kc).watch(
      `/apis/${UPTIME_CHECK.group}/${UPTIME_CHECK.version}/namespaces/${NS}/${UPTIME_CHECK.plural}`,
      {},
      (_type, obj: UptimeCheck) => {
        const at = wallClock();
        const s = obj.status;
        if (!s?.state || !s.since) return;
        states.set(obj.metadata!.name!, s.state);
        const key = `${obj.metadata!.name}/${s.state}/${s.since as unknown as string}`;
        if (!statusSeen.has(key)) statusSeen.set(key, at);
      },
      (err) => {
        if (err && (err as Error).name !== 'AbortError') log(`watch ended: ${(err as Error).message}`);
      },
    );
    log(`creating ${CHECKS} UptimeChecks`);
    for (let i = 0; i < CHECKS; i++) {
      await objects.createNamespacedCustomObject({
        group: UPTIME_CHECK.group,
        version: UPTIME_CHECK.version,
        plural: UPTIME_CHECK.plural,
        namespace: NS,
        body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: checkName(i) }, spec: { url: target.url(i), interval: INTERVAL, timeout: '2s' } },
      });
    }
    await waitFor('every check up in its status', () => [...states.values()].filter((s) => s === 'up').length >= CHECKS, { timeoutMs: 120_000, intervalMs: 250 });
    // Past the first probes' pending → up transitions and their refreshes.
    await sleep(INTERVAL_MS);
    const notified = new Map<number, number>();
    listener = await pool.connect();
    listener.on('notification', (msg) => {
      if (msg.channel === CHANNELS.transitions && msg.payload) notified.set(Number(msg.payload), wallClock());
    });
    await listener.query(`LISTEN ${CHANNELS.transitions}`);
    const ctx: Context = { stack, pool, target, alerter: stack.services.get('alerter-0')!, prober: stack.services.get('prober-0')!, statusSeen, notified };
    const latency = await repeat(RUNS, () => latencyRun(ctx));
    log('deliveries/s: a backlog per run');
    const throughput = await repeat(RUNS, () => throughputRun(ctx));
    const args = process.argv.slice(2).join(' ');
    const markdown = report(latency, throughput);
    // A quick run is a smoke test: it prints its figures and leaves the published ones alone.
    if (values.quick) process.stdout.write(`\n${markdown}\n\n`);
    else {
      await publish({
        name: 'alert-latency',
        command: `node bench/alerter/bench.ts${args ? ` ${args}` : ''}`,
        markdown,
        raw: { checks: CHECKS, transitions: TRANSITIONS, rate: RATE, deliveries: DELIVERIES, latency, throughput },
        machine: before,
      });
    }
    log(`done in ${Math.round((Date.now() - began) / 1000)} s`);
  } finally {
    watch?.abort();
    listener?.release();
    await pool?.end();
    await stack?.stop();
    await target.stop();
  }
}

runBenchmark(main);
