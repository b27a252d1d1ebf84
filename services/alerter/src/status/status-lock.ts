import pg from 'pg';
import type { Logger } from '@vigil/observability';

// Any fixed 64-bit number; distinct from the migration runner's key.
const STATUS_LOCK_KEY = '8533870238104174963';
const RETRY_MS = 3_000;

/**
 * Makes one alerter replica the status writer: it holds a session advisory
 * lock on a connection of its own. Status patches and Events then come from
 * one place, so the QPS budget is the whole deployment's and Events aggregate;
 * if that replica or its connection dies, the lock is free and a standby takes
 * over within a few seconds. Deliveries are not affected: every replica sends.
 */
export class StatusLock {
  private client: pg.Client | undefined;
  private held = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private attempt: Promise<void> = Promise.resolve();

  constructor(
    private readonly connectionString: string,
    private readonly logger: Logger,
    private readonly onChange: (held: boolean) => void,
  ) {}

  get isHeld(): boolean {
    return this.held;
  }

  start(): void {
    this.attempt = this.tick();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => (this.attempt = this.tick()), RETRY_MS * (0.75 + Math.random() / 2));
  }

  /** Connects if needed, then tries to take the lock, or, when held, checks the connection still answers. */
  private async tick(): Promise<void> {
    if (this.stopped) return;
    try {
      if (!this.client) {
        const client = new pg.Client({ connectionString: this.connectionString, application_name: 'vigil-alerter-status-lock', connectionTimeoutMillis: 5_000, keepAlive: true });
        client.on('error', () => this.lost(client));
        client.on('end', () => this.lost(client));
        await client.connect();
        this.client = client;
      }
      if (this.held) {
        await this.client.query('SELECT 1');
      } else {
        const { rows } = await this.client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [STATUS_LOCK_KEY]);
        if (rows[0]?.ok) {
          this.held = true;
          this.logger.info('this replica now writes UptimeCheck status and Events');
          this.onChange(true);
        }
      }
    } catch (err) {
      this.logger.debug({ err: (err as Error).message }, 'status lock check failed');
      const client = this.client;
      if (client) {
        this.lost(client);
        client.end().catch(() => undefined);
      }
    }
    this.schedule();
  }

  private lost(client: pg.Client): void {
    if (client !== this.client) return;
    this.client = undefined;
    if (this.held) {
      this.held = false;
      this.logger.warn('lost the status lock connection; another replica may take over');
      this.onChange(false);
    }
  }

  /** Releases the lock (by closing its connection). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.attempt;
    const client = this.client;
    this.client = undefined;
    this.held = false;
    await client?.end().catch(() => undefined);
  }
}
