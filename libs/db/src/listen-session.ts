import type { Channel } from '@vigil/contracts';
import type { Logger } from '@vigil/service-runtime';
import type { BackoffOptions } from './backoff.js';
import { DedicatedConnection, guarded } from './dedicated-connection.js';

export interface ListenSessionOptions {
  connectionString: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  channels: readonly Channel[];
  logger: Logger;
  /**
   * A notification arrived on `channel`. Only a nudge: its payload is ignored
   * and the reader goes to the tables, which are the truth.
   */
  onNotify(channel: Channel): void;
  /**
   * LISTEN is in place after a (re)connect. Notifications sent while there was
   * no connection are lost, so this is where the reader catches up on the
   * tables. Runs after the first connect too.
   */
  onCatchUp(): void;
  /** The connection came up (true) or was lost (false): for a gauge. */
  onConnectedChange?(connected: boolean): void;
  /**
   * The backstop: runs every `intervalMs` whether or not LISTEN is up, for
   * whatever no notification announces (due retries, a missed catch-up).
   */
  poll?: { intervalMs: number; run(): void };
  /** Reconnect schedule; default 0.5 s doubling to 10 s, jittered. */
  backoff?: Pick<BackoffOptions, 'initialMs' | 'maxMs'>;
  /** See DedicatedConnectionOptions.checkIntervalMs. */
  checkIntervalMs?: number;
}

/**
 * LISTEN on a dedicated connection, the way every service wakes up on a
 * NOTIFY: notification → nudge, (re)connect → catch up, a slow poll as
 * backstop, reconnect with the shared backoff, and a clean stop.
 */
export class ListenSession {
  private readonly connection: DedicatedConnection;
  private pollTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ListenSessionOptions) {
    if (options.channels.length === 0) throw new Error('a ListenSession needs at least one channel');
    const channels = new Set<string>(options.channels);
    this.connection = new DedicatedConnection({
      connectionString: options.connectionString,
      applicationName: options.applicationName,
      purpose: 'LISTEN',
      logger: options.logger,
      ...(options.backoff ? { backoff: options.backoff } : {}),
      ...(options.checkIntervalMs !== undefined ? { checkIntervalMs: options.checkIntervalMs } : {}),
      setup: async (client) => {
        client.on('notification', ({ channel }) => {
          if (channels.has(channel)) guarded(options.logger, 'onNotify', () => options.onNotify(channel as Channel));
        });
        for (const channel of channels) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      },
      onUp: () => {
        options.logger.info({ channels: options.channels }, 'listening');
        options.onConnectedChange?.(true);
        options.onCatchUp();
      },
      onDown: () => options.onConnectedChange?.(false),
    });
  }

  /** Whether LISTEN is in place now (for /readyz detail). */
  get connected(): boolean {
    return this.connection.connected;
  }

  /** Connects in the background (failures are retried) and starts the backstop poll. */
  start(): void {
    this.connection.start();
    const poll = this.options.poll;
    if (poll && !this.pollTimer) this.pollTimer = setInterval(() => guarded(this.options.logger, 'poll', () => poll.run()), poll.intervalMs);
  }

  /** No callback runs after this resolves. */
  async stop(): Promise<void> {
    clearInterval(this.pollTimer);
    const wasConnected = this.connection.connected;
    await this.connection.stop();
    if (wasConnected) this.options.onConnectedChange?.(false);
  }
}
