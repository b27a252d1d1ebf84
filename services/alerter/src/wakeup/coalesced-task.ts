import { isTransient, type Backoff } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';

/**
 * Runs `task` when nudged, never twice at once: nudges that arrive while it
 * runs collapse into one more run, so a burst of notifications costs one or
 * two queries, not one per notification. The task may ask to run again at a
 * given time (the next due retry, say); the earliest such time wins.
 */
export class CoalescedTask {
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private idle: Promise<void> = Promise.resolve();

  constructor(
    private readonly task: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.idle = this.loop();
  }

  /** Runs the task again at `at` (epoch ms) unless it runs earlier. */
  runAt(at: number): void {
    if (this.stopped || at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Infinity;
      this.nudge();
    }, Math.max(0, at - Date.now()));
  }

  /**
   * The retry policy after a failed run: a transient failure (`isTransient`)
   * runs again after the next `backoff` delay; any other would fail the same
   * way, so it is logged as an error and waits for the next nudge (an outcome,
   * a notification, the backstop poll).
   */
  retryIfTransient(err: unknown, backoff: Backoff, logger: Logger, what: string): void {
    if (isTransient(err)) {
      const delay = backoff.next();
      logger.warn({ err: (err as Error).message, retryInMs: delay }, `${what} failed; retrying`);
      this.runAt(Date.now() + delay);
    } else {
      logger.error({ err }, `${what} failed`);
    }
  }

  /** No more runs; resolves once the current run has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timerAt = Infinity;
    await this.idle;
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.task();
        } catch (err) {
          this.onError(err);
        }
      } while (this.again && !this.stopped);
    } finally {
      this.running = false;
    }
  }
}
