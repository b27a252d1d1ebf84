import type { Logger } from '@vigil/service-runtime';
import { STORED_REASONS } from '@vigil/contracts';
import { Backoff, isTransient, withTransaction, type Pool, type PoolClient } from '@vigil/db';
import type { UptimeCheck } from '@vigil/k8s';
import type { CheckRef, StoredNotice } from '../kube/stored-condition.js';
import type { WatcherMetrics } from '../metrics.js';
import { InvalidCheckError, rowFingerprint, timeoutCapMessage, toCheckRow, type CheckRow } from './check-row.js';
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

/** Where the store's verdict on each object goes: the `Stored` condition and its Event (kube/stored-condition.ts). */
export interface StoredReporter {
  observe(check: UptimeCheck): void;
  report(ref: CheckRef, notice: StoredNotice | null): void;
  forget(uid: string): void;
}

/** When an object Postgres refused is tried again if it does not change: 5 s doubling to 5 min. */
export const ISOLATION_RETRY = { initialMs: 5_000, maxMs: 300_000 };

/** An object Postgres refused: left out of every batch until it changes or its retry time comes. */
interface Isolated {
  row: CheckRow;
  fingerprint: string;
  backoff: Backoff;
  timer?: NodeJS.Timeout;
}

/** Postgres refused the data itself (not the connection, not the schema): retrying the same row cannot help. */
function isRefusedData(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return !isTransient(err) && typeof code === 'string' && /^2[23]/.test(code);
}

const refOf = (row: CheckRow): CheckRef => ({ namespace: row.namespace, name: row.name, uid: row.uid });
const noReporter: StoredReporter = { observe: () => undefined, report: () => undefined, forget: () => undefined };

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
  /** Objects Postgres refused (poison), by uid. */
  private readonly isolated = new Map<string, Isolated>();
  /** Objects whose spec cannot be mapped to a row, by uid, with why. */
  private readonly invalid = new Map<string, { namespace: string; message: string }>();
  /** Why the stored timeout differs from the spec's, by uid, for rows queued or written. */
  private readonly capped = new Map<string, string>();

  constructor(
    private readonly pool: Pool,
    /** Every scope watched; the store is synced once each has had a full list committed. */
    private readonly scopes: readonly Scope[],
    private readonly logger: Logger,
    private readonly metrics: WatcherMetrics,
    /** Fencing: false once this replica may no longer be the leader. */
    private readonly mayWrite: () => boolean,
    private readonly reporter: StoredReporter = noReporter,
    private readonly isolationRetry: { initialMs: number; maxMs: number } = ISOLATION_RETRY,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Writes what is pending (unless Postgres is down or leadership is lost) and ends the write loop. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    for (const entry of this.isolated.values()) clearTimeout(entry.timer);
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
    this.reporter.observe(check);
    const row = this.toRow(check);
    if (!row) return;
    const fingerprint = rowFingerprint(row);
    // Unchanged (a status-only update, such as the watcher's own condition) costs nothing, also for an isolated object.
    if (this.fingerprints.get(uid)?.fingerprint === fingerprint) return;
    this.fingerprints.set(uid, { namespace: row.namespace, fingerprint });
    this.enqueue(uid, { kind: 'upsert', row });
  }

  remove(check: UptimeCheck): void {
    const uid = check.metadata.uid!;
    this.sweepFor(check.metadata.namespace)?.keep.delete(uid);
    this.fingerprints.delete(uid);
    this.release(uid);
    this.reporter.forget(uid);
    this.enqueue(uid, { kind: 'delete' });
  }

  /** A full list of `scope`: upsert every object and delete the scope's rows that were not listed, in one transaction. */
  replace(scope: Scope, checks: readonly UptimeCheck[]): void {
    const keep = new Set<string>();
    const listed = new Set(checks.map((c) => c.metadata.uid!));
    for (const [uid, known] of this.fingerprints) {
      if ((scope === null || known.namespace === scope) && !listed.has(uid)) {
        this.fingerprints.delete(uid);
        this.release(uid);
        this.reporter.forget(uid);
      }
    }
    const inScope = (namespace: string) => scope === null || namespace === scope;
    for (const [uid, { namespace }] of this.invalid) if (inScope(namespace) && !listed.has(uid)) this.release(uid);
    for (const [uid, { row }] of this.isolated) if (inScope(row.namespace) && !listed.has(uid)) this.release(uid);
    for (const check of checks) {
      const uid = check.metadata.uid!;
      this.reporter.observe(check);
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

  /** The object's row, or undefined (reported on the object, once per distinct reason) when its spec cannot be stored. */
  private toRow(check: UptimeCheck): CheckRow | undefined {
    const uid = check.metadata.uid!;
    try {
      const row = toCheckRow(check);
      const capped = timeoutCapMessage(check);
      if (capped) this.capped.set(uid, capped);
      else this.capped.delete(uid);
      if (this.invalid.delete(uid)) this.updateIsolatedGauge();
      return row;
    } catch (err) {
      if (!(err instanceof InvalidCheckError)) throw err;
      // Forget what was written last, so that a fix back to exactly that spec is written (and clears the condition).
      this.fingerprints.delete(uid);
      if (this.invalid.get(uid)?.message === err.message) return undefined;
      if (!this.invalid.has(uid)) this.metrics.objectsRefused.inc({ reason: STORED_REASONS.invalid });
      this.invalid.set(uid, { namespace: check.metadata.namespace, message: err.message });
      this.updateIsolatedGauge();
      const ref = { namespace: check.metadata.namespace, name: check.metadata.name, uid };
      this.logger.warn({ check: `${ref.namespace}/${ref.name}`, reason: err.message }, 'skipping an UptimeCheck that cannot be stored');
      this.reporter.report(ref, { status: 'False', reason: STORED_REASONS.invalid, message: `not stored, the last stored spec (if any) stays in effect: ${err.message}`, generation: check.metadata.generation ?? 0 });
      return undefined;
    }
  }

  /** Forgets an object's isolation (deleted, or stored at last). */
  private release(uid: string): void {
    const entry = this.isolated.get(uid);
    if (entry) clearTimeout(entry.timer);
    const wasIsolated = this.isolated.delete(uid);
    const changed = this.invalid.delete(uid) || wasIsolated;
    this.capped.delete(uid);
    if (changed) this.updateIsolatedGauge();
  }

  private updateIsolatedGauge(): void {
    this.metrics.objectsIsolated.set(this.isolated.size + this.invalid.size);
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
    const refused: Array<{ row: CheckRow; error: Error }> = [];
    const { inserted, updated, deleted, mirrored } = (await withTransaction(this.pool, async (client) => {
      refused.length = 0;
      const { inserted, updated } = await this.upsertIsolating(client, rows, refused);
      const deleted = (await deleteChecks(client, deletes)) + (await this.sweep(client, [...batch.sweeps.values()]));
      const mirrored = await countChecks(client, this.scopes.includes(null) ? null : (this.scopes as string[]));
      return { inserted, updated, deleted, mirrored };
    }))!;
    this.metrics.checksMirrored.set(mirrored);
    const refusedUids = new Set(refused.map((r) => r.row.uid));
    for (const row of rows) if (!refusedUids.has(row.uid)) this.stored(row);
    for (const { row, error } of refused) this.isolate(row, error);
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

  /**
   * Upserts `rows`, leaving out the ones Postgres refuses for good: the batch
   * runs under a savepoint, and on an error caused by the data (SQLSTATE class
   * 22 data exception, e.g. 22P05 for a NUL in jsonb, or 23 integrity
   * constraint violation) it is rolled back to the savepoint and bisected, so k poison rows among n cost about
   * 2k·log2(n) statements and every other row is written in the same
   * transaction. Any other error (transient, or systemic such as a missing
   * function) fails the whole transaction, which is retried with backoff.
   */
  private async upsertIsolating(client: PoolClient, rows: CheckRow[], refused: Array<{ row: CheckRow; error: Error }>): Promise<{ inserted: number; updated: number }> {
    if (rows.length === 0) return { inserted: 0, updated: 0 };
    await client.query('SAVEPOINT upsert_rows');
    try {
      const result = await upsertChecks(client, rows);
      await client.query('RELEASE SAVEPOINT upsert_rows');
      return result;
    } catch (err) {
      if (!isRefusedData(err)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT upsert_rows');
      await client.query('RELEASE SAVEPOINT upsert_rows');
      if (rows.length === 1) {
        refused.push({ row: rows[0]!, error: err as Error });
        return { inserted: 0, updated: 0 };
      }
      const half = Math.ceil(rows.length / 2);
      const first = await this.upsertIsolating(client, rows.slice(0, half), refused);
      const second = await this.upsertIsolating(client, rows.slice(half), refused);
      return { inserted: first.inserted + second.inserted, updated: first.updated + second.updated };
    }
  }

  /** A row is in Postgres as the object says: end its isolation, and say so on the object if anything was said. */
  private stored(row: CheckRow): void {
    const wasIsolated = this.isolated.has(row.uid);
    const entry = this.isolated.get(row.uid);
    if (entry) {
      clearTimeout(entry.timer);
      this.isolated.delete(row.uid);
      this.updateIsolatedGauge();
    }
    if (wasIsolated) this.logger.info({ check: `${row.namespace}/${row.name}` }, 'an isolated UptimeCheck is stored again');
    const capped = this.capped.get(row.uid);
    this.reporter.report(refOf(row), capped ? { status: 'True', reason: STORED_REASONS.timeoutCapped, message: capped, generation: row.generation } : null);
  }

  /** Postgres refused the row: keep it out of later batches until the object changes or its backoff ends. */
  private isolate(row: CheckRow, error: Error): void {
    const fingerprint = rowFingerprint(row);
    let entry = this.isolated.get(row.uid);
    const isNew = !entry;
    if (!entry) {
      entry = { row, fingerprint, backoff: new Backoff(this.isolationRetry) };
      this.isolated.set(row.uid, entry);
      this.metrics.objectsRefused.inc({ reason: STORED_REASONS.refused });
      this.updateIsolatedGauge();
    }
    clearTimeout(entry.timer);
    Object.assign(entry, { row, fingerprint });
    const retryInMs = entry.backoff.next();
    const check = `${row.namespace}/${row.name}`;
    const postgresError = `${(error as { code?: string }).code ?? ''} ${error.message}`.trim();
    if (isNew) this.logger.error({ check, err: postgresError, retryInMs }, 'Postgres refused an UptimeCheck: isolated; every other check keeps being mirrored');
    else this.logger.warn({ check, err: postgresError, retryInMs }, 'Postgres still refuses an isolated UptimeCheck');
    this.reporter.report(refOf(row), {
      status: 'False',
      reason: STORED_REASONS.refused,
      message: `Postgres refused this check, so it is not probed with this spec (the last stored spec, if any, stays in effect): ${postgresError}`,
      generation: row.generation,
    });
    entry.timer = setTimeout(() => {
      // Tried again only if nothing newer is queued and the object is still what was refused.
      const current = this.isolated.get(row.uid);
      if (current !== entry || this.pending.changes.has(row.uid) || this.fingerprints.get(row.uid)?.fingerprint !== entry.fingerprint) return;
      this.enqueue(row.uid, { kind: 'upsert', row: entry.row });
    }, retryInMs);
    entry.timer.unref();
  }

  private async sweep(client: PoolClient, sweeps: Sweep[]): Promise<number> {
    let deleted = 0;
    for (const sweep of sweeps) deleted += await deleteUnlistedChecks(client, sweep.scope === null ? null : [sweep.scope], [...sweep.keep]);
    return deleted;
  }
}
