import { ApiException, PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { FIELD_MANAGERS, redactUrl } from '@vigil/contracts';
import { Backoff, type Pool } from '@vigil/db';
import { UPTIME_CHECK, type UptimeCheckStatus } from '@vigil/k8s';
import type { Logger } from '@vigil/service-runtime';
import type { AlerterMetrics } from '../metrics.js';
import { CoalescedTask } from '../wakeup/coalesced-task.js';
import { buildStatus, lastDeliveryOf, type CheckSnapshot } from './check-status.js';
import type { CheckRef, EventRecorder, EventReason } from './events.js';
import {
  checksDueForRefresh,
  clearDeliveryReports,
  deleteOrphanReports,
  markTransitionsApplied,
  pendingDeliveryReports,
  pendingTransitions,
  recordStatusReport,
  type PendingDeliveryReport,
  type PendingTransition,
} from './status.queries.js';
import type { TokenBucket } from './token-bucket.js';

const APPLY = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
const CHANGED_CHECKS_BATCH = 100;
const ORPHAN_SWEEP_MS = 10 * 60_000;

export interface StatusWriterOptions {
  pool: Pool;
  objects: CustomObjectsApi;
  events: EventRecorder;
  bucket: TokenBucket;
  refreshPeriodMs: number;
  qps: number;
  /** Whether this replica holds the status lock. */
  isWriter(): boolean;
  logger: Logger;
  metrics: AlerterMetrics;
}

type PatchResult = 'ok' | 'not_found';

/**
 * Mirrors vigil.checks into UptimeCheck /status and records Events: first
 * unapplied transitions (Event + immediate patch), then delivery outcomes
 * (lastDelivery, WebhookFailed), then throttled refreshes of probe figures.
 * Every API call takes a token from the QPS budget. Changes of state go
 * first; first results, delivery outcomes and refreshes each take about half
 * a second of budget a round, so a change waits at most one short round
 * behind a backlog of them (10,000 new checks are half an hour of budget at
 * the default 10/s).
 */
export class StatusWriter {
  private readonly task: CoalescedTask;
  private readonly abort = new AbortController();
  private lastOrphanSweep = 0;
  private apiHealthy = true;
  private lastApiError: string | undefined;
  private failedThisRound = false;
  /** After a round that failed (Postgres, or an API call): retried from 2 s, backing off to 30 s. */
  private readonly retry = new Backoff({ initialMs: 2_000, maxMs: 30_000 });

  constructor(private readonly options: StatusWriterOptions) {
    this.task = new CoalescedTask(
      () => this.round(),
      (err) => {
        if (!this.abort.signal.aborted) this.task.retryIfTransient(err, this.retry, options.logger, 'status round');
      },
    );
  }

  nudge(): void {
    this.task.nudge();
  }

  /** For /readyz detail: whether the last API call worked. */
  get apiServer(): string {
    return this.apiHealthy ? 'ok' : `failing: ${this.lastApiError}`;
  }

  async stop(): Promise<void> {
    this.abort.abort(new Error('stopping'));
    await this.task.stop();
  }

  private async round(): Promise<void> {
    if (!this.options.isWriter() || this.abort.signal.aborted) return;
    this.failedThisRound = false;
    const routineBatch = Math.max(1, Math.floor(this.options.qps / 2));
    const transitions = await pendingTransitions(this.options.pool, { changes: CHANGED_CHECKS_BATCH, firstResults: routineBatch });
    if (transitions.length > 0) await this.applyTransitions(transitions);
    const deliveries = await pendingDeliveryReports(this.options.pool, routineBatch);
    if (deliveries.length > 0) await this.reportDeliveries(deliveries);
    const due = await checksDueForRefresh(this.options.pool, this.options.refreshPeriodMs, routineBatch);
    await Promise.all(
      due.map(async ({ check, previous }) => {
        const { status, ready } = buildStatus(check, previous);
        const result = await this.patch(check, { ...status }, 'refresh');
        // A check whose object is gone is recorded too, so it is not retried until something changes.
        if (result) await recordStatusReport(this.options.pool, check, ready);
      }),
    );
    if (Date.now() - this.lastOrphanSweep > ORPHAN_SWEEP_MS) {
      this.lastOrphanSweep = Date.now();
      await deleteOrphanReports(this.options.pool);
    }
    if (this.failedThisRound) {
      this.task.runAt(Date.now() + this.retry.next());
      return;
    }
    this.retry.reset();
    if (batchFull(transitions, routineBatch) || deliveries.length === routineBatch || due.length === routineBatch) this.task.nudge();
  }

  /** The batch comes changes first and the bucket serves callers in order, so their patches go out first. */
  private async applyTransitions(transitions: PendingTransition[]): Promise<void> {
    const byCheck = new Map<string, PendingTransition[]>();
    for (const t of transitions) byCheck.set(t.checkUid, [...(byCheck.get(t.checkUid) ?? []), t]);
    await Promise.all(
      [...byCheck.values()].map(async (group) => {
        const latest = group[group.length - 1]!;
        const current = latest.current;
        if (current) {
          const ref = { namespace: current.check.namespace, name: current.check.name, uid: current.check.uid };
          const { status, ready } = buildStatus(current.check, current.previous);
          const result = await this.patch(current.check, status, 'transition');
          if (result === 'ok') {
            for (const t of group) this.options.metrics.transitionToStatusSeconds.observe((Date.now() - t.createdAt.getTime()) / 1000);
            for (const t of group) if (t.to === 'down' || t.to === 'up') await this.event(ref, t.to === 'down' ? 'Warning' : 'Normal', t.to === 'down' ? 'Down' : 'Up', transitionMessage(t), t.at);
          }
          if (result) await recordStatusReport(this.options.pool, current.check, ready);
          if (!result) return;
        }
        // Also when the check is gone: nothing is left to show it on.
        await markTransitionsApplied(this.options.pool, group.map((t) => t.id));
      }),
    );
  }

  private async reportDeliveries(reports: PendingDeliveryReport[]): Promise<void> {
    const latestByCheck = new Map<string, PendingDeliveryReport>();
    for (const r of reports) latestByCheck.set(r.checkUid, r);
    const done: PendingDeliveryReport[] = [];
    await Promise.all(
      [...latestByCheck.values()].map(async (latest) => {
        const group = reports.filter((r) => r.checkUid === latest.checkUid);
        if (!latest.checkExists) {
          done.push(...group);
          return;
        }
        const ref = { namespace: latest.namespace, name: latest.name, uid: latest.checkUid };
        const result = await this.patch({ ...ref }, { lastDelivery: lastDeliveryOf(latest) }, 'delivery');
        if (!result) return;
        if (result === 'ok') {
          for (const r of group) {
            if (r.status === 'dead' || r.status === 'disabled') {
              const message = `${r.eventType} webhook ${r.id} to receiver ${r.receiver} ${r.status === 'dead' ? `failed after ${r.attempts} attempts` : 'was not sent: receiver disabled'}: ${r.lastError ?? 'unknown error'}`;
              await this.event(ref, 'Warning', 'WebhookFailed', message, r.updatedAt);
            }
          }
        }
        done.push(...group);
      }),
    );
    if (done.length > 0) await clearDeliveryReports(this.options.pool, done);
  }

  /**
   * Applies /status (Server-Side Apply) under the budget. Returns the result, or undefined when the API call failed (retried next round).
   * The alerter's own field managers own only what it writes, and `conditions` is a map keyed by type, so
   * other writers' conditions (the watcher's `Stored`) survive; a merge patch would replace the whole list.
   * lastDelivery has a manager of its own, so a delivery report does not drop the probe fields and vice versa.
   */
  private async patch(check: Pick<CheckSnapshot, 'namespace' | 'name'>, status: UptimeCheckStatus, kind: 'transition' | 'refresh' | 'delivery'): Promise<PatchResult | undefined> {
    await this.takeToken();
    try {
      await this.options.objects.patchNamespacedCustomObjectStatus(
        {
          group: UPTIME_CHECK.group,
          version: UPTIME_CHECK.version,
          plural: UPTIME_CHECK.plural,
          namespace: check.namespace,
          name: check.name,
          fieldManager: kind === 'delivery' ? FIELD_MANAGERS.alerterDelivery : FIELD_MANAGERS.alerter,
          force: true,
          body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: check.name, namespace: check.namespace }, status },
        },
        APPLY,
      );
      this.options.metrics.statusPatches.inc({ kind, result: 'ok' });
      this.apiHealthy = true;
      return 'ok';
    } catch (err) {
      if (err instanceof ApiException && err.code === 404) {
        this.options.metrics.statusPatches.inc({ kind, result: 'not_found' });
        return 'not_found';
      }
      this.options.metrics.statusPatches.inc({ kind, result: 'error' });
      this.noteApiError(err, `patch ${check.namespace}/${check.name} status`);
      return undefined;
    }
  }

  private async event(ref: CheckRef, type: 'Normal' | 'Warning', reason: EventReason, message: string, at: Date): Promise<void> {
    await this.takeToken();
    try {
      const action = await this.options.events.record(ref, type, reason, message, at);
      this.options.metrics.events.inc({ reason, action });
    } catch (err) {
      // An Event is informative: a failure is counted and logged, never retried.
      this.options.metrics.events.inc({ reason, action: 'error' });
      this.noteApiError(err, `record ${reason} event on ${ref.namespace}/${ref.name}`);
    }
  }

  private async takeToken(): Promise<void> {
    const waitedMs = await this.options.bucket.take(this.abort.signal);
    this.options.metrics.budgetWait.observe(waitedMs / 1000);
  }

  private noteApiError(err: unknown, what: string): void {
    const message = err instanceof ApiException ? `HTTP ${err.code}: ${bodyMessage(err.body)}` : (err as Error).message;
    if (this.apiHealthy || message !== this.lastApiError) this.options.logger.warn({ err: message }, `cannot ${what}`);
    this.apiHealthy = false;
    this.failedThisRound = true;
    this.lastApiError = message;
  }
}

/** Whether a batch of transitions hit either of its limits (counted in checks), so more may be waiting. */
function batchFull(transitions: PendingTransition[], firstResultsLimit: number): boolean {
  const changed = new Set(transitions.filter((t) => !t.firstResult).map((t) => t.checkUid)).size;
  const firstResults = new Set(transitions.filter((t) => t.firstResult).map((t) => t.checkUid)).size;
  return changed === CHANGED_CHECKS_BATCH || firstResults === firstResultsLimit;
}

function bodyMessage(body: unknown): string {
  try {
    return (JSON.parse(String(body)) as { message?: string }).message ?? String(body);
  } catch {
    return String(body);
  }
}

/** The transition log stores the URL redacted already (migration 0007); redacted again here, since an Event is public to the namespace. */
function transitionMessage(t: PendingTransition): string {
  const url = redactUrl(t.url);
  if (t.to === 'up') return `${url} is up (${t.code ? `HTTP ${t.code}` : 'no HTTP response'}${t.latencyMs !== null ? ` in ${t.latencyMs} ms` : ''}), was ${t.from}`;
  const why = [t.reason, t.message].filter(Boolean).join(': ') || (t.code ? `HTTP ${t.code}` : 'no HTTP response');
  return `${url} is down: ${why}; was ${t.from}`;
}
