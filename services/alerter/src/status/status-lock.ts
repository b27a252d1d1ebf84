import { Backoff, DedicatedConnection } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';

// Any fixed 64-bit number; distinct from the migration runner's key.
const STATUS_LOCK_KEY = '8533870238104174963';
/** A standby tries to take the lock every 1.5-3 s (jittered); the holder's connection is checked as often. */
const RETRY_MS = 3_000;

/**
 * Makes one alerter replica the status writer: it holds a session advisory
 * lock on a connection of its own (`@vigil/db`'s DedicatedConnection, which
 * reconnects with the shared backoff and health-checks itself). Status patches
 * and Events then come from one place, so the QPS budget is the whole
 * deployment's and Events aggregate; if that replica or its connection dies,
 * the lock is free and a standby takes over within a few seconds. Deliveries
 * are not affected: every replica sends.
 */
export class StatusLock {
  private readonly connection: DedicatedConnection;
  /** A steady, jittered period: a Backoff whose step never grows. */
  private readonly retry = new Backoff({ initialMs: RETRY_MS, maxMs: RETRY_MS });
  private held = false;
  private stopped = false;
  /** Bumped when a connection is lost, so an answer from the old one is not taken for the new one. */
  private epoch = 0;
  private trying = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    connectionString: string,
    private readonly logger: Logger,
    private readonly onChange: (held: boolean) => void,
  ) {
    this.connection = new DedicatedConnection({
      connectionString,
      applicationName: 'vigil-alerter-status-lock',
      purpose: 'status lock',
      logger,
      checkIntervalMs: RETRY_MS,
      onUp: () => void this.tryLock(),
      onDown: () => this.lost(),
    });
  }

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    this.connection.start();
  }

  /** Releases the lock (by closing its connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.connection.stop();
    this.held = false;
  }

  /** Takes the lock if it is free; otherwise tries again after a jittered period, while the connection is up. */
  private async tryLock(): Promise<void> {
    clearTimeout(this.timer);
    if (this.held || this.trying || this.stopped || !this.connection.connected) return;
    this.trying = true;
    const epoch = this.epoch;
    try {
      const { rows } = await this.connection.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [STATUS_LOCK_KEY]);
      if (rows[0]?.ok && epoch === this.epoch && !this.stopped) {
        this.held = true;
        this.logger.info('this replica now writes UptimeCheck status and Events');
        this.onChange(true);
        return;
      }
    } catch (err) {
      // A broken connection is reopened by DedicatedConnection, whose onUp tries again.
      this.logger.debug({ err: (err as Error).message }, 'status lock attempt failed');
    } finally {
      this.trying = false;
    }
    if (!this.stopped && this.connection.connected) this.timer = setTimeout(() => void this.tryLock(), this.retry.next());
  }

  private lost(): void {
    this.epoch++;
    clearTimeout(this.timer);
    if (!this.held) return;
    this.held = false;
    this.logger.warn('lost the status lock connection; another replica may take over');
    this.onChange(false);
  }
}
