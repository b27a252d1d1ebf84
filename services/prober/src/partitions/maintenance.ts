import type { Pool } from '@vigil/db';
import type { Logger } from '@vigil/observability';
import type { ProberMetrics } from '../metrics.js';
import { maintainPartitions } from './partitions.queries.js';

const DAYS_AHEAD = 7;
const PERIOD_MS = 3_600_000;
const RETRY_MS = 60_000;

/** Keeps a week of probe_results partitions ahead and drops those past RESULT_RETENTION, hourly on every replica (one does the work). */
export class PartitionMaintenance {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly retentionMs: number,
    private readonly metrics: ProberMetrics,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.runAndReschedule();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  /** Runs once now; throws when Postgres refuses. */
  async run(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const { ran, dropped } = await maintainPartitions(client, { daysAhead: DAYS_AHEAD, retentionMs: this.retentionMs });
      if (dropped.length > 0) {
        this.metrics.partitionsDropped.inc(dropped.length);
        this.logger.info({ dropped }, 'dropped probe_results partitions past retention');
      }
      if (ran) this.logger.debug('probe_results partitions maintained');
    } finally {
      client.release();
    }
  }

  private async runAndReschedule(): Promise<void> {
    let next = PERIOD_MS;
    try {
      await this.run();
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'partition maintenance failed; retrying');
      next = RETRY_MS;
    }
    this.timer = setTimeout(() => void this.runAndReschedule(), next);
    this.timer.unref();
  }
}
