import type { KubeConfig } from '@kubernetes/client-node';
import { Backoff, pause, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import { CheckStore, type Scope } from './checks/check-store.js';
import { CheckSource } from './kube/check-source.js';
import { missingPermissions, neededPermissions } from './kube/permissions.js';
import { StoredConditionReporter } from './kube/stored-condition.js';
import { LeaderElector, type LeaderElectionOptions } from './leader/leader-election.js';
import type { WatcherMetrics } from './metrics.js';

export interface WatcherOptions {
  kubeConfig: KubeConfig;
  pool: Pool;
  /** Namespaces to mirror; empty means all. */
  namespaces: readonly string[];
  lease: LeaderElectionOptions;
  logger: Logger;
  metrics: WatcherMetrics;
}

type Phase = 'checking-permissions' | 'forbidden' | 'standby' | 'leading' | 'failed';

/**
 * The watcher's life: confirm the ServiceAccount may do its job, campaign for
 * the Lease, and while leading list+watch every scope into the check store.
 * Nothing here throws out: API-server and Postgres failures are retried with
 * backoff and reported through `status()`.
 */
export class Watcher {
  private readonly scopes: Scope[];
  private readonly elector: LeaderElector;
  private readonly stopping = new AbortController();
  private running?: Promise<void>;
  private store?: CheckStore;
  private missing: string[] = [];
  private readonly forbiddenByScope = new Map<string, string>();
  private apiServerError: string | undefined;
  private phase: Phase = 'checking-permissions';

  constructor(private readonly options: WatcherOptions) {
    this.scopes = options.namespaces.length === 0 ? [null] : [...options.namespaces];
    this.elector = new LeaderElector(options.kubeConfig, options.lease, options.logger, (leading) => options.metrics.isLeader.set(leading ? 1 : 0));
    options.metrics.isLeader.set(0);
  }

  start(): void {
    this.running ??= this.run(this.stopping.signal).catch((err: unknown) => {
      // A bug, not an outage: fail liveness so the kubelet restarts the pod instead of leaving it idle.
      this.options.logger.error({ err }, 'the watcher stopped unexpectedly');
      this.phase = 'failed';
    });
  }

  /** Stops watching, writes or abandons the pending batch, and releases the lease. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** Liveness: false only when the watcher's loop died, which a restart fixes. */
  alive(): boolean {
    return this.phase !== 'failed';
  }

  /** Readiness of the Kubernetes side; Postgres is checked by the caller. */
  status(): { ok: boolean; detail: string } {
    const forbidden = [...this.missing, ...this.forbiddenByScope.values()];
    if (forbidden.length > 0) return { ok: false, detail: `missing permission: ${forbidden.join('; ')}` };
    if (this.apiServerError) return { ok: false, detail: `API server unreachable: ${this.apiServerError}` };
    switch (this.phase) {
      case 'checking-permissions':
        return { ok: false, detail: 'checking permissions' };
      case 'standby':
        return { ok: true, detail: 'standby' };
      case 'leading':
        if (this.store?.lastWriteError) return { ok: false, detail: `leader: writes failing: ${this.store.lastWriteError}` };
        return this.store?.synced ? { ok: true, detail: 'leader' } : { ok: false, detail: 'leader: initial sync in progress' };
      case 'failed':
        return { ok: false, detail: 'stopped unexpectedly: see the logs' };
      default:
        return { ok: false, detail: this.phase };
    }
  }

  private async run(signal: AbortSignal): Promise<void> {
    if (!(await this.awaitPermissions(signal))) return;
    this.phase = 'standby';
    await this.elector.run(signal, (leadership) => this.mirror(leadership));
  }

  /** Checks RBAC up front, so a bad ServiceAccount shows as a clear log line and readiness detail, never a crash loop. */
  private async awaitPermissions(signal: AbortSignal): Promise<boolean> {
    const { logger, kubeConfig, lease } = this.options;
    const backoff = new Backoff({ initialMs: 1000, maxMs: 30_000 });
    const needed = neededPermissions(this.scopes, lease.namespace);
    while (!signal.aborted) {
      try {
        this.missing = await missingPermissions(kubeConfig, needed);
        this.apiServerError = undefined;
        if (this.missing.length === 0) {
          logger.info({ permissions: needed.length }, 'service account permissions confirmed');
          return true;
        }
        this.phase = 'forbidden';
        const delay = backoff.next();
        for (const permission of this.missing) logger.error({ missingPermission: permission, retryInMs: delay }, `missing permission: ${permission}`);
        await pause(delay, signal);
      } catch (err) {
        this.apiServerError = (err as Error).message;
        const delay = backoff.next();
        logger.warn({ err: (err as Error).message, retryInMs: delay }, 'cannot reach the API server to check permissions; will retry');
        await pause(delay, signal);
      }
    }
    return false;
  }

  private async mirror(leadership: AbortSignal): Promise<void> {
    const { kubeConfig, pool, logger, metrics } = this.options;
    this.phase = 'leading';
    const reporter = new StoredConditionReporter(kubeConfig, logger, this.options.lease.identity);
    reporter.start();
    const store = new CheckStore(pool, this.scopes, logger, metrics, () => this.elector.isLeader(), reporter);
    this.store = store;
    store.start();
    const sources = this.scopes.map(
      (scope) =>
        new CheckSource(kubeConfig, scope, store, logger, metrics, (permission) => {
          if (permission) this.forbiddenByScope.set(scope ?? '*', permission);
          else this.forbiddenByScope.delete(scope ?? '*');
        }),
    );
    try {
      await Promise.all(sources.map((s) => s.run(leadership)));
    } finally {
      await store.stop();
      await reporter.stop();
      this.forbiddenByScope.clear();
      this.store = undefined;
      this.phase = 'standby';
    }
  }
}
