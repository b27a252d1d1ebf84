import type { Logger } from '@vigil/service-runtime';
import { Backoff, isMissingPartition, isTransient, withTransaction, type Pool } from '@vigil/db';
import type { ProberMetrics } from '../metrics.js';
import type { ProbeRecord } from '../types.js';
import { completeProbes, insertResults, notifyStatus, upsertRollups } from './results.queries.js';
import { aggregateRollups } from './rollups.js';
import { drainUntil } from '../drain.js';

export interface ResultWriterOptions {
  pool: Pool;
  prober: string;
  flushIntervalMs: number;
  batchSize: number;
  bufferLimit: number;
  metrics: ProberMetrics;
  logger: Logger;
  /** Creates missing probe_results partitions (called when a batch hits one). */
  ensurePartitions: () => Promise<void>;
}

const MAX_RETRY_DELAY_MS = 5_000;
/** A batch Postgres refuses this many times for a non-transient reason is dropped, so one bad row cannot wedge the writer. */
const MAX_REJECTIONS = 3;

/**
 * Buffers finished probes and writes them in batches: every flush interval
 * or as soon as a batch is full, one transaction per batch (results, each
 * check's latest state and schedule, rollups, one NOTIFY vigil_status). While
 * Postgres is unreachable the buffer grows up to bufferLimit, then the oldest
 * results are dropped and counted.
 */
export class ResultWriter {
  private buffer: ProbeRecord[] = [];
  /** How many records at the head of the buffer the running batch holds; they are never dropped. */
  private writing = 0;
  private flushing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private rejections = 0;
  private running = false;
  private readonly backoff: Backoff;

  constructor(private readonly options: ResultWriterOptions) {
    // After a failed write the timer backs off from twice the flush interval; add() stops flushing early meanwhile.
    this.backoff = new Backoff({ initialMs: Math.min(options.flushIntervalMs * 2, MAX_RETRY_DELAY_MS), maxMs: MAX_RETRY_DELAY_MS });
  }

  get buffered(): number {
    return this.buffer.length;
  }

  /** Whether the last write reached Postgres. */
  get healthy(): boolean {
    return this.failures === 0;
  }

  start(): void {
    this.running = true;
    this.schedule(this.options.flushIntervalMs);
  }

  add(record: ProbeRecord): void {
    this.buffer.push(record);
    const excess = this.buffer.length - this.options.bufferLimit;
    if (excess > 0) {
      this.buffer.splice(this.writing, excess);
      this.options.metrics.dropped.inc({ reason: 'buffer_full' }, excess);
    }
    this.options.metrics.resultsBuffered.set(this.buffer.length);
    if (this.buffer.length >= this.options.batchSize && this.failures === 0) void this.flush();
  }

  /** Writes everything buffered; resolves when the buffer is empty or a write failed. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = null));
    return this.flushing;
  }

  /** Stops the timer and tries to write what is left until `deadline` (ms, epoch). */
  async stop(deadline: number): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    const left = await drainUntil(deadline, () => this.buffer.length, () => this.flush());
    if (left > 0) this.options.logger.error({ results: left }, 'results not written before shutdown');
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.flush().then(() => {
        if (this.failures === 0) this.backoff.reset();
        this.schedule(this.failures === 0 ? this.options.flushIntervalMs : this.backoff.next());
      });
    }, delayMs);
  }

  private async drain(): Promise<void> {
    while (this.buffer.length > 0) {
      const batch = this.buffer.slice(0, this.options.batchSize);
      this.writing = batch.length;
      try {
        await this.write(batch);
        this.buffer.splice(0, batch.length);
        if (this.failures > 0) this.options.logger.info('writing results again');
        this.failures = 0;
        this.rejections = 0;
        this.options.metrics.batches.inc({ outcome: 'committed' });
        this.options.metrics.batchSize.observe(batch.length);
      } catch (err) {
        this.options.metrics.batches.inc({ outcome: 'failed' });
        if (isTransient(err)) {
          if (this.failures === 0) this.options.logger.warn({ err: (err as Error).message, buffered: this.buffer.length }, 'cannot write results; buffering them');
          this.failures++;
          return;
        }
        this.rejections++;
        this.options.logger.error({ err, batch: batch.length, attempt: this.rejections }, 'Postgres rejected a result batch');
        if (this.rejections >= MAX_REJECTIONS) {
          this.buffer.splice(0, batch.length);
          this.options.metrics.dropped.inc({ reason: 'rejected' }, batch.length);
          this.rejections = 0;
        }
        this.failures++;
        return;
      } finally {
        this.writing = 0;
        this.options.metrics.resultsBuffered.set(this.buffer.length);
      }
    }
  }

  private async write(batch: ProbeRecord[]): Promise<void> {
    try {
      await this.transaction(batch);
    } catch (err) {
      if (!isMissingPartition(err)) throw err;
      await this.options.ensurePartitions();
      await this.transaction(batch);
    }
  }

  /** One transaction per batch: results, each check's latest state and schedule, rollups, NOTIFY vigil_status. */
  private async transaction(batch: ProbeRecord[]): Promise<void> {
    await withTransaction(this.options.pool, async (client) => {
      await insertResults(client, this.options.prober, batch);
      await completeProbes(client, this.options.prober, latestPerCheck(batch));
      await upsertRollups(client, aggregateRollups(batch));
      await notifyStatus(client);
    });
  }
}

/** The newest record of each check: only it may set the row's state and schedule. */
function latestPerCheck(batch: readonly ProbeRecord[]): ProbeRecord[] {
  const latest = new Map<string, ProbeRecord>();
  for (const record of batch) {
    const seen = latest.get(record.uid);
    if (!seen || seen.startedAt < record.startedAt) latest.set(record.uid, record);
  }
  return [...latest.values()];
}
