import type { Logger } from '@vigil/service-runtime';
import { Backoff, withTransaction, type Pool, type PoolClient } from '@vigil/db';
import type { UptimeCheck } from '@vigil/k8s';
import type { WatcherMetrics } from '../metrics.js';
import { InvalidCheckError, rowFingerprint, toCheckRow, type CheckRow } from './check-row.js';
import { countChecks, deleteChecks, deleteUnlistedChecks, upsertChecks } from './checks.queries.js';

/** A slice of the cluster that is listed and watched as one: one namespace, or all of them (`null`). */
export type Scope = string | null;
const scopeKey = (scope: Scope) => scope ?? '*';

type Change = { kind: 'upsert'; row: CheckRow } | { kind: 'delete' };

/** The result of a full list, waiting to be written: rows of the scope not in `keep` are deleted. */
interface Sweep {
  scope: Scope;
  keep: Set<string>;
}

interface Pending {
  changes: Map<string, Change>;
  sweeps: Map<string, Sweep>;
  oldestAt: number | undefined;
}

const FENCED_RETRY_MS = 200;

const emptyPending = (): Pending => ({ changes: new Map(), sweeps: new Map(), oldestAt: undefined });

/**
 * Mirrors UptimeChecks into `vigil.checks`. Changes are coalesced by uid (the
 * latest wins) and written by one loop: everything that arrived while the
 * previous transaction ran goes into the next one, with one NOTIFY per
 * transaction. When Postgres fails, the pending changes are kept (bounded by
 * the number of checks, since they are keyed by uid) and retried with backoff.
 */
export class CheckStore {
  private pending = emptyPending();
  private wake?: () => void;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly syncedScopes = new Set<string>();
  /** What was last queued per uid, so the status-only updates the alerter makes all day cost no transaction. */
  private readonly fingerprints = new Map<string, { namespace: string; fingerprint: string }>();
  private postgresError: string | undefined;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 10_000 });

  constructor(
    private readonly pool: Pool,
    /** Every scope watched; the store is synced once each has had a full list committed. */
    private readonly scopes: readonly Scope[],
    private readonly logger: Logger,
    private readonly metrics: WatcherMetrics,
    /** Fencing: false once this replica may no longer be the leader. */
    private readonly mayWrite: () => boolean,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Writes what is pending (unless Postgres is down or leadership is lost) and ends the write loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
  }

  /** True once every scope's full list is in Postgres. */
  get synced(): boolean {
    return this.scopes.every((s) => this.syncedScopes.has(scopeKey(s)));
  }

  /** Why the last write failed, or undefined when it succeeded. */
  get lastWriteError(): string | undefined {
    return this.postgresError;
  }

  upsert(check: UptimeCheck): void {
    const uid = check.metadata.uid!;
    // A pending sweep of this scope must not delete an object that appeared after the list.
    this.sweepFor(check.metadata.namespace)?.keep.add(uid);
    const row = this.toRow(check);
    if (!row) return;
    const fingerprint = rowFingerprint(row);
    if (this.fingerprints.get(uid)?.fingerprint === fingerprint) return;
    this.fingerprints.set(uid, { namespace: row.namespace, fingerprint });
    this.enqueue(uid, { kind: 'upsert', row });
  }

  remove(check: UptimeCheck): void {
    const uid = check.metadata.uid!;
    this.sweepFor(check.metadata.namespace)?.keep.delete(uid);
    this.fingerprints.delete(uid);
    this.enqueue(uid, { kind: 'delete' });
  }

  /** A full list of `scope`: upsert every object and delete the scope's rows that were not listed, in one transaction. */
  replace(scope: Scope, checks: readonly UptimeCheck[]): void {
    const keep = new Set<string>();
    const listed = new Set(checks.map((c) => c.metadata.uid!));
    for (const [uid, known] of this.fingerprints) {
      if ((scope === null || known.namespace === scope) && !listed.has(uid)) this.fingerprints.delete(uid);
    }
    for (const check of checks) {
      const uid = check.metadata.uid!;
      // An object whose spec cannot be stored keeps its last good row rather than losing it.
      keep.add(uid);
      const row = this.toRow(check);
      if (row) {
        this.pending.changes.set(uid, { kind: 'upsert', row });
        this.fingerprints.set(uid, { namespace: row.namespace, fingerprint: rowFingerprint(row) });
      } else {
        this.pending.changes.delete(uid);
      }
    }
    this.pending.sweeps.set(scopeKey(scope), { scope, keep });
    this.pending.oldestAt ??= Date.now();
    this.wake?.();
  }

  private sweepFor(namespace: string): Sweep | undefined {
    return this.pending.sweeps.get(namespace) ?? this.pending.sweeps.get('*');
  }

  private toRow(check: UptimeCheck): CheckRow | undefined {
    try {
      return toCheckRow(check);
    } catch (err) {
      if (!(err instanceof InvalidCheckError)) throw err;
      this.metrics.invalidChecks.inc();
      this.logger.warn({ check: `${check.metadata.namespace}/${check.metadata.name}`, reason: err.message }, 'skipping an UptimeCheck that cannot be stored');
      return undefined;
    }
  }

  private enqueue(uid: string, change: Change): void {
    this.pending.changes.set(uid, change);
    this.pending.oldestAt ??= Date.now();
    this.wake?.();
  }

  private hasPending(): boolean {
    return this.pending.changes.size > 0 || this.pending.sweeps.size > 0;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (!this.hasPending()) {
        if (this.stopped) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      if (!this.mayWrite()) {
        // Fencing: the lease is overdue for renewal. Either the elector renews it
        // (a long pause, say) and writing resumes, or it steps down and stops this store.
        if (this.stopped) {
          this.logger.warn({ pending: this.pending.changes.size }, 'no longer the leader: leaving unwritten changes to the next leader');
          return;
        }
        await this.sleep(FENCED_RETRY_MS);
        continue;
      }
      const batch = this.pending;
      this.pending = emptyPending();
      try {
        await this.write(batch);
        if (this.postgresError) this.logger.info('writing to Postgres again');
        this.postgresError = undefined;
        this.backoff.reset();
      } catch (err) {
        this.metrics.writeErrors.inc();
        this.postgresError = (err as Error).message;
        this.requeue(batch);
        const delay = this.backoff.next();
        this.logger.error({ err, retryInMs: delay, pending: this.pending.changes.size }, 'could not write checks to Postgres; will retry');
        if (this.stopped) return;
        await this.sleep(delay);
        if (this.stopped) return;
      }
    }
  }

  /** Waits `ms`, or less when the store is stopped; new changes do not cut it short. */
  private async sleep(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        if (this.stopped) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    this.wake = undefined;
  }

  /** Puts a failed batch back under whatever arrived since: newer changes and newer lists win. */
  private requeue(batch: Pending): void {
    for (const [uid, change] of batch.changes) if (!this.pending.changes.has(uid)) this.pending.changes.set(uid, change);
    for (const [key, sweep] of batch.sweeps) {
      if (this.pending.sweeps.has(key)) continue;
      for (const [uid, change] of this.pending.changes) {
        if (change.kind === 'upsert' && (sweep.scope === null || change.row.namespace === sweep.scope)) sweep.keep.add(uid);
        if (change.kind === 'delete') sweep.keep.delete(uid);
      }
      this.pending.sweeps.set(key, sweep);
    }
    if (batch.oldestAt !== undefined) this.pending.oldestAt = Math.min(batch.oldestAt, this.pending.oldestAt ?? Infinity);
  }

  private async write(batch: Pending): Promise<void> {
    const rows: CheckRow[] = [];
    const deletes: string[] = [];
    for (const [uid, change] of batch.changes) {
      if (change.kind === 'upsert') rows.push(change.row);
      else deletes.push(uid);
    }
    // One transaction, so one NOTIFY vigil_checks however many rows changed.
    const { inserted, updated, deleted, mirrored } = (await withTransaction(this.pool, async (client) => {
      const { inserted, updated } = await upsertChecks(client, rows);
      const deleted = (await deleteChecks(client, deletes)) + (await this.sweep(client, [...batch.sweeps.values()]));
      const mirrored = await countChecks(client, this.scopes.includes(null) ? null : (this.scopes as string[]));
      return { inserted, updated, deleted, mirrored };
    }))!;
    this.metrics.checksMirrored.set(mirrored);
    this.metrics.rowsChanged.inc({ op: 'insert' }, inserted);
    this.metrics.rowsChanged.inc({ op: 'update' }, updated);
    this.metrics.rowsChanged.inc({ op: 'delete' }, deleted);
    this.logger.debug({ inserted, updated, deleted, sweeps: batch.sweeps.size }, 'checks written');
    this.metrics.writeTransactions.inc();
    if (batch.oldestAt !== undefined) this.metrics.syncLag.observe((Date.now() - batch.oldestAt) / 1000);
    for (const key of batch.sweeps.keys()) {
      if (!this.syncedScopes.has(key)) this.logger.info({ scope: key, checks: batch.sweeps.get(key)!.keep.size }, 'initial sync complete');
      this.syncedScopes.add(key);
    }
  }

  private async sweep(client: PoolClient, sweeps: Sweep[]): Promise<number> {
    let deleted = 0;
    for (const sweep of sweeps) deleted += await deleteUnlistedChecks(client, sweep.scope === null ? null : [sweep.scope], [...sweep.keep]);
    return deleted;
  }
}
