import { Backoff, isTransient, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { ProberMetrics } from '../metrics.js';
import type { TransitionRecord } from '../types.js';
import { recordTransition } from './transitions.queries.js';
import { drainUntil } from '../drain.js';

/** A transition Postgres refuses this many times for a non-transient reason (a bug, not an outage) is given up, loudly. */
const MAX_REJECTIONS = 10;

/**
 * Writes transitions in the order they happened, each with the new state, its
 * outbox rows and NOTIFY vigil_transitions in one statement (vigil.record_transition).
 * While Postgres is away they wait in memory, unbounded: transitions are few
 * and are never dropped to make room.
 */
export class TransitionWriter {
  private readonly queue: TransitionRecord[] = [];
  private draining: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly backoff = new Backoff({ initialMs: 250, maxMs: 5_000 });
  private rejections = 0;
  private stopped = false;

  constructor(
    private readonly pool: Pool,
    private readonly metrics: ProberMetrics,
    private readonly logger: Logger,
  ) {}

  get buffered(): number {
    return this.queue.length;
  }

  add(transition: TransitionRecord): void {
    this.queue.push(transition);
    this.metrics.transitionsBuffered.set(this.queue.length);
    if (this.failures === 0) void this.drain();
  }

  drain(): Promise<void> {
    this.draining ??= this.run().finally(() => (this.draining = null));
    return this.draining;
  }

  async stop(deadline: number): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const left = await drainUntil(deadline, () => this.queue.length, () => this.drain());
    if (left > 0) this.logger.error({ transitions: left }, 'transitions not written before shutdown');
  }

  private async run(): Promise<void> {
    clearTimeout(this.retryTimer);
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      try {
        const written = (await recordTransition(this.pool, next)) !== null;
        this.queue.shift();
        this.failures = 0;
        this.backoff.reset();
        this.rejections = 0;
        if (written) this.metrics.transitions.inc({ to: next.to });
        else this.logger.info({ uid: next.uid, from: next.from, to: next.to }, 'transition skipped: the check is gone or already moved');
      } catch (err) {
        this.failures++;
        if (!isTransient(err)) {
          this.rejections++;
          this.logger.error({ err, uid: next.uid, attempt: this.rejections }, 'Postgres rejected a transition');
          if (this.rejections >= MAX_REJECTIONS) {
            this.queue.shift();
            this.metrics.dropped.inc({ reason: 'rejected' });
            this.rejections = 0;
          }
        } else if (this.failures === 1) {
          this.logger.warn({ err: (err as Error).message, buffered: this.queue.length }, 'cannot write transitions; keeping them until Postgres is back');
        }
        if (!this.stopped) {
          this.retryTimer = setTimeout(() => void this.drain(), this.backoff.next());
        }
        return;
      } finally {
        this.metrics.transitionsBuffered.set(this.queue.length);
      }
    }
  }
}
