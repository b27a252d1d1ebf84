import { isTransient, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { ProberMetrics } from '../metrics.js';
import { probe, type ProbeOptions } from '../probe/probe.js';
import { applyResult, type StateCounters } from '../state/state-machine.js';
import type { ResultWriter } from '../storage/result-writer.js';
import type { TransitionWriter } from '../transitions/transition-writer.js';
import type { CheckSpec, ClaimedCheck } from '../types.js';
import { claimDueChecks, currentGenerations, releaseLeases, settlePausedChecks } from './claims.queries.js';
import { Semaphore } from './semaphore.js';
import { NamespaceShares } from './shares.js';
import { nextSlot } from './slots.js';

export interface SchedulerOptions {
  pool: Pool;
  prober: string;
  concurrency: number;
  /** The smallest per-namespace share of `concurrency` (see NamespaceShares). */
  minNamespaceShare: number;
  /** A check's timeout is clamped to this, whatever its row says. */
  maxTimeoutMs: number;
  /** On stop, running probes get this long to finish; the rest are aborted, not recorded, and their claims released. */
  stopGraceMs: number;
  /** Added to each check's due time and timeout to form its lease. */
  leaseMs: number;
  /** Slots due up to this long after the start of the current claim period are claimed and timed locally. */
  lookaheadMs: number;
  /** Claim periods: every replica claims at the start of each (database clock), and whenever woken. */
  claimIntervalMs: number;
  /** Most slots waiting for their due time in this replica. */
  maxScheduled: number;
  probeOptions: ProbeOptions;
  /** Called when Postgres answers again after an outage; claiming resumes one period after it resolves. */
  onRecovered: () => Promise<void>;
  results: ResultWriter;
  transitions: TransitionWriter;
  metrics: ProberMetrics;
  logger: Logger;
}

/** A namespace refused a slot counts as active this long: the others' shares stay shrunk while it waits for room. */
const SHARE_WANTING_MS = 5_000;

interface ScheduledSlot {
  check: ClaimedCheck;
  timer: NodeJS.Timeout;
  /** Scheduled from memory during a Postgres outage, without a claim. */
  local: boolean;
}

/** A check this replica probed last: enough to keep probing it from memory while Postgres is away. */
interface HeldCheck {
  spec: CheckSpec;
  counters: StateCounters;
  nextDueAt: number;
}

/**
 * Claims due check slots, starts each probe at its due time (bounded by the
 * concurrency limit), judges the result against the check's state and hands
 * results and transitions to the writers. While Postgres is unreachable it
 * keeps probing the checks it held, from memory, on their schedule.
 */
export class Scheduler {
  private readonly scheduled = new Map<string, ScheduledSlot>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly held = new Map<string, HeldCheck>();
  private readonly semaphore: Semaphore;
  private readonly shares: NamespaceShares;
  /** Aborts every running probe at shutdown (after the grace). */
  private readonly abort = new AbortController();
  /** Claimed slots given back because their namespace's share was full, released together. */
  private readonly deferred = new Set<string>();
  private releasingDeferred = false;
  /** Database clock minus local clock, measured at each claim: due times are database times. */
  private clockOffsetMs = 0;
  private available = true;
  /** Horizon of the last successful claim: no replica could claim a slot due after it before Postgres went away. */
  private lastHorizon = 0;
  private stopping = false;
  private wakeUp: (() => void) | undefined;
  private wakePending = false;
  private loopDone: Promise<void> | undefined;
  private refreshing: Promise<void> | undefined;
  private refreshAgain = false;

  constructor(private readonly options: SchedulerOptions) {
    this.semaphore = new Semaphore(options.concurrency);
    this.shares = new NamespaceShares({ concurrency: options.concurrency, minShare: options.minNamespaceShare, wantingMs: SHARE_WANTING_MS });
  }

  /** Whether the last claim reached Postgres. */
  get postgresAvailable(): boolean {
    return this.available;
  }

  start(): void {
    this.loopDone = this.loop();
  }

  /** Claim now instead of at the next tick (a NOTIFY arrived). */
  wake(): void {
    this.wakePending = true;
    this.wakeUp?.();
  }

  /**
   * vigil_checks fired: drop waiting slots whose check was deleted, paused or
   * edited (an edit makes the row due now, so the next claim probes the new
   * spec at once), then claim.
   */
  checksChanged(): void {
    if (this.refreshing) {
      this.refreshAgain = true;
      return;
    }
    this.refreshing = this.refreshScheduled()
      .catch((err: Error) => this.options.logger.warn({ err: err.message }, 'cannot re-read scheduled checks'))
      .finally(() => {
        this.refreshing = undefined;
        if (this.refreshAgain) {
          this.refreshAgain = false;
          this.checksChanged();
        }
      });
    this.wake();
  }

  /**
   * Stops claiming and gives back slots not yet started; running probes get
   * `stopGraceMs` to finish, then the rest are aborted: an aborted probe
   * records nothing (it says nothing about the target) and its claim is
   * released at once, so another replica probes that slot without waiting for
   * the lease to expire.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeUp?.();
    await this.loopDone;
    const unstarted = [...this.scheduled.values()];
    for (const slot of unstarted) clearTimeout(slot.timer);
    this.scheduled.clear();
    const claimed = unstarted.filter((s) => !s.local).map((s) => s.check.spec.uid);
    if (claimed.length > 0) await releaseLeases(this.options.pool, this.options.prober, claimed).catch(() => undefined);
    // Slots waiting for room in their namespace's share are given back now.
    this.shares.refuseWaiting();
    const running = Promise.all(this.running.values());
    let graceTimer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'abort'>((resolve) => (graceTimer = setTimeout(() => resolve('abort'), this.options.stopGraceMs)));
    if ((await Promise.race([running, graceOver])) === 'abort') {
      this.options.logger.info({ probes: this.running.size }, 'aborting running probes');
      this.abort.abort();
    }
    clearTimeout(graceTimer);
    await running;
    await this.releaseDeferred();
    this.updateGauges();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      this.wakePending = false;
      await this.tick();
      if (this.stopping || this.wakePending) continue;
      // Claim at the start of the next period, in step with the other replicas.
      const period = this.options.claimIntervalMs;
      const untilNextPeriod = period - (((this.now() % period) + period) % period);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, untilNextPeriod + 5);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async tick(): Promise<void> {
    try {
      if (!this.available) {
        await this.recover();
        return;
      }
      await settlePausedChecks(this.options.pool);
      const limit = this.options.maxScheduled - this.scheduled.size;
      // A replica with probes queued for a concurrency slot is saturated:
      // leaving due slots to the others balances load across replicas.
      if (limit > 0 && this.semaphore.waiting === 0) {
        const claimed = await claimDueChecks(this.options.pool, {
          prober: this.options.prober,
          periodMs: this.options.claimIntervalMs,
          lookaheadMs: this.options.lookaheadMs,
          limit,
          leaseMs: this.options.leaseMs,
          maxTimeoutMs: this.options.maxTimeoutMs,
          rooms: this.shares.claimRooms(this.scheduledPerNamespace()),
        });
        this.clockOffsetMs = claimed.clockOffsetMs;
        this.lastHorizon = claimed.horizon;
        this.options.metrics.claimed.inc(claimed.checks.length);
        for (const check of claimed.checks) this.schedule(check, false);
      }
      this.pruneHeld();
    } catch (err) {
      this.options.metrics.claimErrors.inc();
      if (isTransient(err)) {
        if (this.available) this.options.logger.warn({ err: (err as Error).message, held: this.held.size }, 'cannot claim: Postgres unreachable; probing held checks from memory');
        this.available = false;
      } else {
        this.options.logger.error({ err }, 'claim failed');
      }
    }
    this.options.metrics.postgresAvailable.set(this.available ? 1 : 0);
    if (!this.available) this.scheduleHeld();
    this.updateGauges();
    this.updateShareGauges();
  }

  private now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  private schedule(check: ClaimedCheck, local: boolean): void {
    const uid = check.spec.uid;
    if (this.scheduled.has(uid) || this.running.has(uid)) return;
    const delay = Math.max(0, check.dueAt - this.now());
    const timer = setTimeout(() => this.begin(uid), delay);
    this.scheduled.set(uid, { check, timer, local });
  }

  private begin(uid: string): void {
    const slot = this.scheduled.get(uid);
    if (!slot) return;
    this.scheduled.delete(uid);
    const run = this.run(slot).finally(() => {
      this.running.delete(uid);
      this.updateGauges();
    });
    this.running.set(uid, run);
    this.updateGauges();
  }

  private async run(slot: ScheduledSlot): Promise<void> {
    const { spec, counters, dueAt } = slot.check;
    const { metrics } = this.options;
    metrics.queued.inc();
    // A slot of its namespace's share first, waiting at most one claim period:
    // fast probes free theirs in milliseconds; a share held by slow probes
    // means the slot is given back rather than held here under a lease.
    const shared = !this.stopping && (await this.shares.acquire(spec.namespace, this.options.claimIntervalMs));
    if (!shared && !this.stopping) {
      metrics.queued.dec();
      this.defer(slot);
      return;
    }
    await this.semaphore.acquire();
    metrics.queued.dec();
    try {
      if (this.stopping) {
        if (!slot.local) await releaseLeases(this.options.pool, this.options.prober, [spec.uid]).catch(() => undefined);
        return;
      }
      const startedAt = this.now();
      metrics.lateness.observe(Math.max(0, startedAt - dueAt) / 1000);
      metrics.inFlight.inc();
      const outcome = await probe(
        {
          url: spec.url,
          method: spec.method,
          headers: spec.headers,
          // The CRD caps timeouts too; the prober does not trust a row to.
          timeoutMs: Math.min(spec.timeoutMs, this.options.maxTimeoutMs),
          expectStatusCodes: spec.expectStatusCodes,
          expectBodyContains: spec.expectBodyContains,
          allowInsecureRedirects: spec.allowInsecureRedirects,
        },
        this.options.probeOptions,
        this.abort.signal,
      ).finally(() => metrics.inFlight.dec());
      if (this.abort.signal.aborted) {
        // Cut short by shutdown: not a `down`, and the slot goes back to claiming.
        metrics.aborted.inc();
        if (!slot.local) this.deferred.add(spec.uid);
        return;
      }
      metrics.probes.inc({ result: outcome.ok ? 'success' : 'failure', reason: outcome.reason ?? 'none' });
      metrics.probeDuration.observe(outcome.timings.totalMs / 1000);

      const next = applyResult(counters, outcome.ok, spec);
      const after: StateCounters = { state: next.state, consecutiveFailures: next.consecutiveFailures, consecutiveSuccesses: next.consecutiveSuccesses };
      const nextDueAt = nextSlot(dueAt, spec.uid, spec.intervalMs, this.now());
      if (next.changed) {
        this.options.transitions.add({
          uid: spec.uid,
          namespace: spec.namespace,
          name: spec.name,
          url: spec.url,
          generation: spec.generation,
          from: counters.state,
          to: next.state,
          at: startedAt,
          code: outcome.code,
          latencyMs: Math.round(outcome.timings.totalMs),
          reason: outcome.reason,
          message: outcome.message,
        });
      }
      this.options.results.add({ uid: spec.uid, generation: spec.generation, dueAt, startedAt, outcome, counters: after, nextDueAt });
      this.held.set(spec.uid, { spec, counters: after, nextDueAt });
    } catch (err) {
      this.options.logger.error({ err, uid: spec.uid }, 'probe crashed');
    } finally {
      this.semaphore.release();
      if (shared) this.shares.release(spec.namespace);
    }
  }

  /**
   * During an outage: the next slot of each held check is probed from memory
   * if no replica could have claimed it before Postgres went away, i.e. it is
   * due after the last claim horizon. Claims run in step (same periods, same
   * horizons), so every replica's last horizon is the same unless Postgres
   * died during the few milliseconds of a period's claims. Results and
   * transitions wait in the writers.
   */
  private scheduleHeld(): void {
    const horizon = this.now() + this.options.lookaheadMs;
    const claimableUntil = this.lastHorizon;
    for (const [uid, held] of this.held) {
      if (held.nextDueAt <= claimableUntil || held.nextDueAt > horizon) continue;
      if (this.scheduled.size >= this.options.maxScheduled) break;
      this.schedule({ spec: held.spec, counters: held.counters, dueAt: held.nextDueAt }, true);
      this.held.delete(uid);
    }
  }

  /**
   * Postgres answers again. Before claiming, every replica first writes what
   * it buffered (each check's latest state and next slot among it), and waits
   * one more claim period, so that no replica claims a check another one
   * probed from memory with the stale state and schedule of before the outage.
   * Slots scheduled from memory and not started yet go back to claiming.
   */
  private async recover(): Promise<void> {
    await this.options.pool.query('SELECT 1');
    this.options.logger.info({ results: this.options.results.buffered, transitions: this.options.transitions.buffered }, 'Postgres is back; writing buffered work before claiming');
    this.dropLocalSlots();
    await this.options.onRecovered();
    await new Promise((r) => setTimeout(r, this.options.claimIntervalMs));
    this.available = true;
    this.options.logger.info('claiming again');
  }

  /** Postgres is back: slots scheduled from memory and not started yet go back to claiming, which other replicas take part in. */
  private dropLocalSlots(): void {
    for (const [uid, slot] of this.scheduled) {
      if (!slot.local) continue;
      clearTimeout(slot.timer);
      this.scheduled.delete(uid);
    }
  }

  /** With Postgres reachable, a held check whose next slot has passed belongs to whoever claimed it. */
  private pruneHeld(): void {
    const now = this.now();
    for (const [uid, held] of this.held) if (held.nextDueAt < now) this.held.delete(uid);
  }

  private async refreshScheduled(): Promise<void> {
    const claimed = [...this.scheduled.entries()].filter(([, s]) => !s.local).map(([uid]) => uid);
    if (claimed.length === 0) return;
    const current = await currentGenerations(this.options.pool, claimed);
    const release: string[] = [];
    for (const uid of claimed) {
      const slot = this.scheduled.get(uid);
      if (!slot) continue;
      const row = current.get(uid);
      if (row && !row.paused && row.generation === slot.check.spec.generation) continue;
      clearTimeout(slot.timer);
      this.scheduled.delete(uid);
      this.held.delete(uid);
      if (row) release.push(uid);
    }
    if (release.length > 0) await releaseLeases(this.options.pool, this.options.prober, release);
    this.updateGauges();
  }

  /**
   * The slot's namespace had no room in its share within a claim period: give the slot back instead
   * of waiting here under a lease, so a replica with room (or this one, once
   * the share frees up) claims it. A slot scheduled from memory during an
   * outage cannot be given back: it is skipped, and its next slot kept.
   */
  private defer(slot: ScheduledSlot): void {
    const { spec, counters, dueAt } = slot.check;
    this.options.metrics.shareDeferrals.inc();
    if (slot.local) {
      this.held.set(spec.uid, { spec, counters, nextDueAt: nextSlot(dueAt, spec.uid, spec.intervalMs, this.now()) });
      return;
    }
    this.deferred.add(spec.uid);
    if (!this.releasingDeferred) setImmediate(() => void this.releaseDeferred());
    this.releasingDeferred = true;
  }

  /** Releases the leases of deferred and aborted slots, in one statement. */
  private async releaseDeferred(): Promise<void> {
    this.releasingDeferred = false;
    const uids = [...this.deferred];
    this.deferred.clear();
    if (uids.length === 0) return;
    await releaseLeases(this.options.pool, this.options.prober, uids).catch((err: Error) =>
      // The leases then expire by themselves (due + timeout + CLAIM_LEASE).
      this.options.logger.warn({ err: err.message, slots: uids.length }, 'cannot give back deferred slots'),
    );
  }

  private scheduledPerNamespace(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const slot of this.scheduled.values()) counts.set(slot.check.spec.namespace, (counts.get(slot.check.spec.namespace) ?? 0) + 1);
    return counts;
  }

  private updateGauges(): void {
    this.options.metrics.scheduled.set(this.scheduled.size);
  }

  /** Once per claim period, not per probe: each walks every active namespace. */
  private updateShareGauges(): void {
    this.options.metrics.namespacesActive.set(this.shares.activeNamespaces().size);
    this.options.metrics.namespacesAtShare.set(this.shares.atShare());
    this.options.metrics.namespaceShare.set(this.shares.share());
  }
}
