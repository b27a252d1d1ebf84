import { Backoff, isTransient, pause, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { AlerterMetrics } from '../metrics.js';
import type { ReceiverRegistry } from '../receivers/receiver-registry.js';
import { CoalescedTask } from '../wakeup/coalesced-task.js';
import { claimDueDeliveries, disableReceiver, nextDueAt, recordAttempt, type ClaimedDelivery } from './deliveries.queries.js';
import { decide, resultClass, type AttemptResult } from './outcome.js';
import type { WebhookClient } from './webhook-client.js';

export interface DispatcherOptions {
  pool: Pool;
  client: WebhookClient;
  receivers: ReceiverRegistry;
  owner: string;
  timeoutMs: number;
  schedule: readonly number[];
  perReceiverConcurrency: number;
  /** How long in-flight attempts may finish after stop() before they are aborted and released. */
  stopGraceMs: number;
  logger: Logger;
  metrics: AlerterMetrics;
  /** A delivery got an outcome the CR status should show. */
  onOutcome(): void;
}

// A claim outlives the attempt's deadline by this much, so the outcome can be
// written before another replica may take the delivery over.
const LEASE_MARGIN_MS = 10_000;

/**
 * Claims due deliveries and sends them. Each receiver has its own in-flight
 * slots, so a slow or dead receiver only ever occupies its own; each attempt
 * runs on its own, and finishing one frees its slot and triggers the next claim.
 */
export class Dispatcher {
  private readonly task: CoalescedTask;
  private readonly inFlight = new Map<string, number>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly claimBackoff = new Backoff({ initialMs: 1_000, maxMs: 30_000 });
  private stopping = false;

  constructor(private readonly options: DispatcherOptions) {
    this.task = new CoalescedTask(
      () => this.round(),
      (err) => this.task.retryIfTransient(err, this.claimBackoff, options.logger, 'claiming deliveries'),
    );
  }

  /** Look for due deliveries now (a notification, a reconnect or the backstop poll). */
  nudge(): void {
    this.task.nudge();
  }

  get leaseMs(): number {
    return this.options.timeoutMs + LEASE_MARGIN_MS;
  }

  private async round(): Promise<void> {
    if (this.stopping) return;
    const { receivers, perReceiverConcurrency, pool, owner } = this.options;
    const names: string[] = [];
    const free: number[] = [];
    for (const name of receivers.names()) {
      const slots = perReceiverConcurrency - (this.inFlight.get(name) ?? 0);
      if (slots > 0) {
        names.push(name);
        free.push(slots);
      }
    }
    if (names.length === 0) return;
    const claimed = await claimDueDeliveries(pool, names, free, owner, this.leaseMs);
    this.claimBackoff.reset();
    const leaseEnds = Date.now() + this.leaseMs;
    for (const delivery of claimed) this.launch(delivery, leaseEnds);
    // A receiver that filled its free slots may have more due: its finishing attempts trigger the next claim.
    // Only the others need to know when their next delivery falls due.
    const drained = names.filter((n, i) => claimed.filter((d) => d.receiver === n).length < free[i]!);
    if (drained.length === 0) return;
    const withSlots = drained.filter((n) => (this.inFlight.get(n) ?? 0) < perReceiverConcurrency);
    if (withSlots.length === 0) return;
    const next = await nextDueAt(pool, withSlots);
    // Due now yet not claimed means another replica's claim holds the rows for a moment: look again shortly, not in a tight loop.
    if (next) this.task.runAt(claimed.length === 0 ? Math.max(next.getTime(), Date.now() + 250) : next.getTime());
  }

  private launch(delivery: ClaimedDelivery, leaseEnds: number): void {
    this.inFlight.set(delivery.receiver, (this.inFlight.get(delivery.receiver) ?? 0) + 1);
    this.options.metrics.inFlight.inc();
    const done = this.deliver(delivery, leaseEnds)
      .catch((err) => this.options.logger.error({ err: (err as Error).message, delivery: delivery.id }, 'delivery failed unexpectedly'))
      .finally(() => {
        this.inFlight.set(delivery.receiver, (this.inFlight.get(delivery.receiver) ?? 1) - 1);
        this.options.metrics.inFlight.dec();
        this.running.delete(done);
        this.task.nudge();
      });
    this.running.add(done);
  }

  private async deliver(delivery: ClaimedDelivery, leaseEnds: number): Promise<void> {
    const { logger, metrics } = this.options;
    const receiver = this.options.receivers.get(delivery.receiver);
    let result: AttemptResult;
    if (!receiver) {
      // Removed from the file after the claim: the next sync disables its deliveries.
      result = { startedAt: new Date(), durationMs: 0, error: `Error: receiver ${delivery.receiver} is no longer configured` };
    } else {
      result = await this.options.client.send({ url: receiver.url, id: delivery.id, body: delivery.body, secrets: receiver.secrets, signal: this.abort.signal });
    }
    const released = this.abort.signal.aborted && result.statusCode === undefined;
    const decision = released ? { status: 'pending' as const, nextAttemptAt: new Date() } : decide(delivery.attempt, result, this.options.schedule, new Date());
    metrics.attemptDuration.observe({ receiver: delivery.receiver, result: resultClass(result) }, result.durationMs / 1000);
    const outcome = released ? 'released' : decision.status === 'pending' ? 'retry' : decision.status;
    metrics.deliveries.inc({ receiver: delivery.receiver, outcome });

    // The receiver first: whoever sees this delivery `disabled` also sees its receiver disabled, and a crash in between
    // leaves the delivery to the backstop's disableUndeliverable rather than to another attempt.
    if (decision.status === 'disabled') await this.persist(leaseEnds, () => disableReceiver(this.options.pool, delivery.receiver, decision.reason));
    const recorded = await this.persist(leaseEnds, {
      deliveryId: delivery.id,
      attempt: delivery.attempt,
      owner: this.options.owner,
      startedAt: result.startedAt,
      durationMs: result.durationMs,
      statusCode: result.statusCode ?? null,
      error: result.error ?? null,
      excerpt: result.excerpt ?? null,
      status: decision.status,
      nextAttemptAt: decision.status === 'pending' ? decision.nextAttemptAt : null,
    });
    const log = { delivery: delivery.id, receiver: delivery.receiver, attempt: delivery.attempt, code: result.statusCode, ms: result.durationMs, outcome };
    if (!recorded) logger.warn(log, 'lost the lease on this delivery before recording its outcome; another replica retries it');
    else if (decision.status === 'delivered') logger.debug(log, 'webhook delivered');
    else if (decision.status === 'pending') logger.info({ ...log, error: result.error, next: decision.nextAttemptAt }, 'webhook attempt failed; will retry');
    else if (decision.status === 'disabled') logger.warn({ ...log, reason: decision.reason }, 'receiver answered 410 Gone; disabled');
    else logger.warn({ ...log, error: result.error }, 'webhook delivery is dead: every attempt failed');
    this.options.onOutcome();
  }

  /**
   * Writes an outcome. A transient failure (a database blip) is retried with
   * backoff while the lease is ours; after that, or at once for any other
   * failure, the outcome is given up on and the lease expiry hands the
   * delivery to a retry.
   */
  private async persist(leaseEnds: number, write: Parameters<typeof recordAttempt>[1] | (() => Promise<void>)): Promise<boolean> {
    const backoff = new Backoff({ initialMs: 500, maxMs: 4_000 });
    for (;;) {
      try {
        if (typeof write === 'function') {
          await write();
          return true;
        }
        return await recordAttempt(this.options.pool, write);
      } catch (err) {
        const delay = backoff.next();
        if (!isTransient(err) || Date.now() + delay >= leaseEnds) {
          this.options.logger.error({ err }, 'cannot record a delivery outcome; the lease expiry will retry the delivery');
          return false;
        }
        await pause(delay);
      }
    }
  }

  /** Stops claiming; in-flight attempts get `stopGraceMs` to finish, then are aborted and released for another replica. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.task.stop();
    const grace = setTimeout(() => this.abort.abort(), this.options.stopGraceMs);
    await Promise.all(this.running);
    clearTimeout(grace);
  }
}
