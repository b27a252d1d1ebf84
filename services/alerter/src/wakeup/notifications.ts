import pgListen, { type Subscriber } from 'pg-listen';
import type { Logger } from '@vigil/observability';

export const CHANNELS = { transitions: 'vigil_transitions', status: 'vigil_status' } as const;
export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];

export interface NotificationListenerOptions {
  connectionString: string;
  channels: readonly Channel[];
  logger: Logger;
  /** A notification arrived; its payload is ignored, the tables are the truth. */
  onNotification(channel: Channel): void;
  /** LISTEN is in place after a (re)connect: time to catch up on whatever was missed. */
  onConnected(): void;
}

/**
 * One dedicated LISTEN connection through pg-listen, reconnecting forever with
 * capped, jittered backoff. A notification is only a wake-up.
 */
export class NotificationListener {
  private readonly subscriber: Subscriber;
  private stopping = false;
  private initialised = false;
  private connectedNow = false;

  constructor(private readonly options: NotificationListenerOptions) {
    // pg-listen is CommonJS with an `exports.default`, which Node's ESM import exposes as `.default`.
    this.subscriber = pgListen.default(
      { connectionString: options.connectionString, application_name: 'vigil-alerter-listen', connectionTimeoutMillis: 5_000 },
      {
        // 0 means no overall deadline: retry forever. The interval function is
        // also how a stop ends a reconnect loop (pg-listen's close() does not).
        retryTimeout: 0,
        retryInterval: (attempt) => {
          if (this.stopping) throw new Error('listener stopped');
          return Math.min(2_000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
        },
        paranoidChecking: 15_000,
        // Payloads are ignored; parsing them as JSON would only produce errors.
        parse: (raw) => raw,
      },
    );
    this.subscriber.events.on('notification', ({ channel }) => {
      if (this.options.channels.includes(channel as Channel)) this.options.onNotification(channel as Channel);
    });
    this.subscriber.events.on('reconnect', (attempt) => {
      this.connectedNow = false;
      if (attempt === 1 || attempt % 20 === 0) this.options.logger.warn({ attempt }, 'LISTEN connection lost; reconnecting');
    });
    this.subscriber.events.on('connected', () => {
      if (this.stopping) {
        void this.subscriber.close().catch(() => undefined);
        return;
      }
      // The first connect is announced by start(), once LISTEN is in place.
      if (!this.initialised) return;
      this.markConnected();
    });
    this.subscriber.events.on('error', (err) => this.options.logger.warn({ err: err.message }, 'LISTEN connection error'));
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  /** Connects in the background: a failure here is retried by pg-listen and announced through onConnected. */
  async start(): Promise<void> {
    const listenAll = () => Promise.all(this.options.channels.map((channel) => this.subscriber.listenTo(channel)));
    try {
      await this.subscriber.connect();
      await listenAll();
      this.initialised = true;
      this.markConnected();
    } catch (err) {
      this.initialised = true;
      // Registers the channels, so pg-listen's background reconnect LISTENs to them.
      void listenAll().catch(() => undefined);
      this.options.logger.warn({ err: (err as Error).message }, 'cannot LISTEN yet; retrying in the background');
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.subscriber.close().catch(() => undefined);
  }

  private markConnected(): void {
    this.connectedNow = true;
    this.options.logger.info({ channels: this.options.channels }, 'listening');
    this.options.onConnected();
  }
}
