import { Backoff, isTransient, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { ProberMetrics } from '../metrics.js';
import { maintainPartitions } from './partitions.queries.js';

const DAYS_AHEAD = 7;
const PERIOD_MS = 3_600_000;

/**
 * Keeps a week of probe_results partitions ahead and drops those past
 * RESULT_RETENTION, hourly on every replica (one does the work). A transient
 * failure (Postgres away, the DROP's lock_timeout) is retried with backoff; any
 * other is logged as an error and left to the next hourly run, since retrying
 * the same statement sooner would fail the same way. The week ahead leaves days
 * to notice either.
 */
export class PartitionMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 5_000, maxMs: 60_000 });

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
    const { ran, dropped } = await maintainPartitions(this.pool, { daysAhead: DAYS_AHEAD, retentionMs: this.retentionMs });
    if (dropped.length > 0) {
      this.metrics.partitionsDropped.inc(dropped.length);
      this.logger.info({ dropped }, 'dropped probe_results partitions past retention');
    }
    if (ran) this.logger.debug('probe_results partitions maintained');
  }

  private async runAndReschedule(): Promise<void> {
    let next = PERIOD_MS;
    try {
      await this.run();
      this.backoff.reset();
    } catch (err) {
      if (isTransient(err)) {
        next = this.backoff.next();
        this.logger.warn({ err: (err as Error).message, retryInMs: next }, 'partition maintenance failed; retrying');
      } else {
        this.logger.error({ err }, 'partition maintenance failed; trying again at the next hourly run');
      }
    }
    this.timer = setTimeout(() => void this.runAndReschedule(), next);
    this.timer.unref();
  }
}
