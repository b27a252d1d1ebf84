import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { isTransient, withTransaction, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { AlerterMetrics } from '../metrics.js';
import { ReceiversFileError, displayUrl, parseReceiversFile, type Receiver } from './receivers-file.js';
import { deleteReceiversExcept, disableUndeliverable, upsertReceivers } from './receivers.queries.js';

/**
 * The receivers from RECEIVERS_FILE, kept current: re-read on file-change
 * events (a Secret volume update is a symlink swap in the file's directory, so
 * the directory is watched) and on a timer, and mirrored into
 * vigil.webhook_receivers without secrets. A broken file keeps the last good
 * configuration; a missing one means no receivers.
 */
export class ReceiverRegistry {
  private receivers = new Map<string, Receiver>();
  private lastText: string | undefined;
  private synced = false;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reloading: Promise<void> = Promise.resolve();
  private debounce: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: { file: string; reloadIntervalMs: number; pool: Pool; logger: Logger; metrics: AlerterMetrics; onChange(): void },
  ) {}

  get(name: string): Receiver | undefined {
    return this.receivers.get(name);
  }

  names(): string[] {
    return [...this.receivers.keys()];
  }

  /** Whether the configuration is mirrored into Postgres. */
  get inSync(): boolean {
    return this.synced;
  }

  /** Loads the file once; an invalid file at start-up is fatal (the operator sees why in the log). */
  async start(): Promise<void> {
    const text = await this.read();
    if (text !== undefined) this.apply(text, parseReceiversFile(text));
    else this.apply('', []);
    await this.sync().catch((err) => this.syncFailed(err));
    try {
      this.watcher = watch(dirname(this.options.file), () => {
        clearTimeout(this.debounce);
        this.debounce = setTimeout(() => void this.reload(), 100);
      });
      this.watcher.on('error', () => undefined);
    } catch (err) {
      this.options.logger.warn({ err: (err as Error).message }, 'cannot watch the receivers directory; relying on the periodic re-read');
    }
    this.timer = setInterval(() => void this.reload(), this.options.reloadIntervalMs);
  }

  stop(): Promise<void> {
    this.watcher?.close();
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    return this.reloading;
  }

  reload(): Promise<void> {
    this.reloading = this.reloading.then(() => this.reloadOnce());
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    try {
      const text = (await this.read()) ?? '';
      if (text !== this.lastText) {
        this.apply(text, text === '' ? [] : parseReceiversFile(text));
        this.options.metrics.receiverReloads.inc({ result: 'changed' });
      }
    } catch (err) {
      this.options.metrics.receiverReloads.inc({ result: 'invalid' });
      const problems = err instanceof ReceiversFileError ? err.problems : [(err as Error).message];
      this.options.logger.error({ file: this.options.file, problems }, 'receivers file is invalid; keeping the last good configuration');
      return;
    }
    if (!this.synced) {
      await this.sync().catch((err) => this.syncFailed(err));
    }
  }

  /**
   * Storing is retried at the next re-read and on every LISTEN reconnect. A
   * transient failure is expected during an outage; any other one would
   * repeat until the file changes, so it is an error.
   */
  private syncFailed(err: unknown): void {
    if (isTransient(err)) this.options.logger.warn({ err: (err as Error).message }, 'cannot store receivers yet; retrying');
    else this.options.logger.error({ err }, 'Postgres refused the receivers configuration; retrying at the next re-read');
  }

  private async read(): Promise<string | undefined> {
    try {
      return await readFile(this.options.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  private apply(text: string, receivers: Receiver[]): void {
    if (text === '' && this.lastText === undefined) this.options.logger.warn({ file: this.options.file }, 'no receivers file: no webhooks will be sent');
    this.lastText = text;
    this.receivers = new Map(receivers.map((r) => [r.name, r]));
    this.synced = false;
    this.options.metrics.receivers.set(receivers.length);
    this.options.logger.info({ receivers: receivers.map((r) => ({ name: r.name, url: displayUrl(r.url), secrets: r.secrets.length, namespaces: r.namespaces, events: r.events })) }, 'receivers loaded');
  }

  /** Mirrors the configuration into vigil.webhook_receivers, in one transaction. */
  async sync(): Promise<void> {
    const receivers = [...this.receivers.values()];
    const removed = await withTransaction(this.options.pool, async (client) => {
      await upsertReceivers(
        client,
        receivers.map((r) => ({ name: r.name, url: displayUrl(r.url), namespaces: r.namespaces, matchLabels: r.matchLabels, events: r.events })),
      );
      return deleteReceiversExcept(client, receivers.map((r) => r.name));
    });
    if (removed && removed.length > 0) this.options.logger.info({ removed }, 'receivers removed from the configuration');
    this.synced = true;
    const disabled = await disableUndeliverable(this.options.pool);
    if (disabled > 0) this.options.logger.warn({ deliveries: disabled }, 'pending deliveries to removed or disabled receivers were disabled');
    this.options.onChange();
  }
}
