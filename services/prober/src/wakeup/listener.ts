import pg from 'pg';
import type { Logger } from '@vigil/observability';

const INITIAL_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/**
 * One dedicated connection that LISTENs on a channel. A notification only
 * calls `onWake`; the table is the truth. After every (re)connect `onWake` runs
 * too, since notifications sent while disconnected are lost. Reconnects with
 * exponential backoff and jitter.
 */
export class ChannelListener {
  private client: pg.Client | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = INITIAL_BACKOFF_MS;
  private stopped = false;
  connected = false;

  constructor(
    private readonly connectionString: string,
    private readonly channel: 'vigil_checks' | 'vigil_transitions' | 'vigil_status',
    private readonly onWake: () => void,
    private readonly logger: Logger,
  ) {}

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.connectionString, application_name: `vigil-prober-listen`, connectionTimeoutMillis: 5_000 });
    this.client = client;
    let failed = false;
    const onFailure = (err?: Error) => {
      if (failed) return;
      failed = true;
      this.connected = false;
      client.removeAllListeners('notification');
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      const delay = Math.round(this.backoffMs / 2 + Math.random() * (this.backoffMs / 2));
      this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
      this.logger.warn({ channel: this.channel, err: err?.message, retryInMs: delay }, 'LISTEN connection lost; reconnecting');
      this.timer = setTimeout(() => void this.connect(), delay);
    };
    client.on('error', onFailure);
    client.on('end', () => onFailure());
    client.on('notification', () => this.onWake());
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
      this.connected = true;
      this.backoffMs = INITIAL_BACKOFF_MS;
      this.logger.info({ channel: this.channel }, 'listening');
      this.onWake();
    } catch (err) {
      onFailure(err as Error);
    }
  }
}
