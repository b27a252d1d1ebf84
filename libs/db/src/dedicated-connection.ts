import pg from 'pg';
import type { Logger } from '@vigil/service-runtime';
import { Backoff, type BackoffOptions } from './backoff.js';
import { isTransient } from './errors.js';

export interface DedicatedConnectionOptions {
  connectionString: string;
  /** Shown in pg_stat_activity. */
  applicationName: string;
  /** Names the connection in log lines: "LISTEN", "status lock". */
  purpose: string;
  logger: Logger;
  /** Runs on every new connection before it counts as up (LISTEN, say); a failure counts as a failed connect. */
  setup?(client: pg.Client): Promise<void>;
  /** The connection is up, setup done. */
  onUp?(): void;
  /** The connection that was up is gone (a new one is on its way unless stopped). */
  onDown?(err: Error): void;
  /** Reconnect schedule; default 0.5 s doubling to 10 s, jittered. */
  backoff?: Pick<BackoffOptions, 'initialMs' | 'maxMs'>;
  /**
   * How often the connection proves it still answers (`SELECT 1`); 0 turns
   * that off. A half-open TCP connection (a node or NAT gone) otherwise looks
   * alive for ever and its LISTENs or locks silently do nothing. Default 15 s.
   */
  checkIntervalMs?: number;
}

const CONNECT_TIMEOUT_MS = 5_000;
/** A query on the session that gets no answer this long means the connection is dead. */
const QUERY_TIMEOUT_MS = 10_000;

/**
 * One connection of its own, outside any pool, for what lives in a session:
 * LISTEN, session advisory locks. Kept open for ever: when it fails (an error,
 * the server closing it, a health check without answer) it is dropped and
 * reopened with the shared `Backoff`, and `setup` runs again on the new one.
 */
export class DedicatedConnection {
  private client: pg.Client | undefined;
  private up = false;
  private started = false;
  private stopped = false;
  private failures = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private readonly backoff: Backoff;

  constructor(private readonly options: DedicatedConnectionOptions) {
    this.backoff = new Backoff(options.backoff ?? { initialMs: 500, maxMs: 10_000 });
  }

  /** Whether the connection is open and set up. */
  get connected(): boolean {
    return this.up;
  }

  /** Connects in the background; failures are retried until stop(). */
  start(): void {
    if (this.started) return;
    this.started = true;
    void this.connect();
  }

  /**
   * Runs a query on this connection. A transient failure (the connection broke
   * or did not answer) also drops the connection, which then reconnects.
   */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const client = this.up ? this.client : undefined;
    if (!client) throw new Error(`the ${this.options.purpose} connection is not up`);
    try {
      return await client.query<R>(text, values);
    } catch (err) {
      if (isTransient(err)) this.drop(client, err as Error);
      throw err;
    }
  }

  /** Closes the connection (releasing what its session held) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.checkTimer);
    const client = this.client;
    this.client = undefined;
    this.up = false;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({
      connectionString: this.options.connectionString,
      application_name: this.options.applicationName,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: QUERY_TIMEOUT_MS,
      keepAlive: true,
    });
    this.client = client;
    client.on('error', (err) => this.drop(client, err));
    client.on('end', () => this.drop(client, new Error('Connection terminated')));
    try {
      await client.connect();
      await this.options.setup?.(client);
    } catch (err) {
      this.drop(client, err as Error);
      return;
    }
    // Dropped or stopped while setting up.
    if (this.client !== client) return;
    this.up = true;
    this.failures = 0;
    this.backoff.reset();
    const checkMs = this.options.checkIntervalMs ?? 15_000;
    if (checkMs > 0) this.checkTimer = setInterval(() => void this.query('SELECT 1').catch(() => undefined), checkMs);
    guarded(this.options.logger, 'onUp', () => this.options.onUp?.());
  }

  /** Forgets `client` (once: later events of a dropped client are ignored) and schedules a reconnect. */
  private drop(client: pg.Client, err: Error): void {
    if (this.client !== client) return;
    this.client = undefined;
    clearInterval(this.checkTimer);
    const wasUp = this.up;
    this.up = false;
    client.removeAllListeners('notification');
    void client.end().catch(() => undefined);
    if (this.stopped) return;
    if (wasUp) guarded(this.options.logger, 'onDown', () => this.options.onDown?.(err));
    this.failures++;
    const delay = this.backoff.next();
    this.options.logger.warn(
      { connection: this.options.purpose, err: err.message, attempt: this.failures, retryInMs: delay },
      wasUp ? `${this.options.purpose} connection lost; reconnecting` : `cannot open the ${this.options.purpose} connection; retrying`,
    );
    this.reconnectTimer = setTimeout(() => void this.connect(), delay);
  }
}

/**
 * Runs a caller's callback from a timer or a socket event, where a throw would
 * crash the process: it is logged instead.
 */
export function guarded(logger: Logger, what: string, callback: () => void): void {
  try {
    callback();
  } catch (err) {
    logger.error({ err }, `${what} callback threw`);
  }
}
