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
