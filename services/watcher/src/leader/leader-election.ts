import { ApiException, CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '@vigil/service-runtime';
import { Backoff, pause } from '@vigil/db';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Work done only while leading; it must end soon after `signal` aborts. */
export type LeaderWork = (signal: AbortSignal) => Promise<void>;

/**
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go does it:
 * every update carries the resourceVersion read just before (a conflict means
 * someone else won); a standby takes over a lease only after it has seen the
 * same record unchanged for a whole lease duration by its own clock (no trust
 * in other machines' clocks), or at once when the holder released it. The
 * leader renews every retry period and steps down if it cannot renew within
 * the renew deadline, or sees another holder. On shutdown it releases the
 * lease so a standby takes over without waiting for it to expire.
 */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private observed?: { resourceVersion: string; at: number };
  private lastRenewAt = 0;
  private leading = false;
  /**
   * A standby's attempts come every 0.6-1.2 retry periods (a Backoff with a
   * constant step is a jittered period), so standbys started together do not
   * hit the API server in step; never later than client-go's 1.2 factor.
   */
  private readonly campaign: Backoff;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
    private readonly onLeaderChange: (leading: boolean) => void,
  ) {
    this.api = kubeConfig.makeApiClient(CoordinationV1Api);
    const step = Math.round(options.retryPeriodMs * 1.2);
    this.campaign = new Backoff({ initialMs: step, maxMs: step });
  }

  /** True while this replica holds an unexpired lease: the fencing check before each write. */
  isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenewAt < this.options.renewDeadlineMs;
  }

  /** Campaigns, runs `work` while leading, and releases the lease when `signal` aborts. */
  async run(signal: AbortSignal, work: LeaderWork): Promise<void> {
    while (!signal.aborted) {
      if (!(await this.tryAcquireOrRenew())) {
        await this.campaign.wait(signal);
        continue;
      }
      this.setLeading(true);
      this.logger.info({ lease: this.leaseText(), identity: this.options.identity }, 'became the leader');
      const leadership = new AbortController();
      const stopLeading = () => leadership.abort();
      signal.addEventListener('abort', stopLeading, { once: true });
      const working = work(leadership.signal).catch((err: unknown) => {
        this.logger.error({ err }, 'leader work failed');
        leadership.abort();
      });
      await this.renewWhileLeading(leadership.signal);
      leadership.abort();
      signal.removeEventListener('abort', stopLeading);
      await working;
      this.setLeading(false);
      if (signal.aborted) await this.release();
      else this.logger.warn({ lease: this.leaseText() }, 'lost leadership; standing by');
    }
  }

  private async renewWhileLeading(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await pause(this.options.retryPeriodMs, signal);
      if (signal.aborted) return;
      const renewed = await this.tryAcquireOrRenew();
      if (!this.leading) return; // another holder was seen
      if (!renewed && Date.now() - this.lastRenewAt >= this.options.renewDeadlineMs) {
        this.logger.error({ lease: this.leaseText(), renewDeadlineMs: this.options.renewDeadlineMs }, 'could not renew the lease within the renew deadline; stepping down');
        return;
      }
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.onLeaderChange(leading);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.options;
    const now = new V1MicroTime();
    const leaseDurationSeconds = Math.ceil(this.options.leaseDurationMs / 1000);
    try {
      let lease: V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (!(err instanceof ApiException && err.code === 404)) throw err;
        await this.api.createNamespacedLease({
          namespace,
          body: { metadata: { name, namespace }, spec: { holderIdentity: identity, leaseDurationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 } },
        });
        this.lastRenewAt = Date.now();
        return true;
      }
      const rv = lease.metadata?.resourceVersion ?? '';
      if (this.observed?.resourceVersion !== rv) this.observed = { resourceVersion: rv, at: Date.now() };
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? '';
      const mine = holder === identity;
      if (!mine && this.leading) {
        this.logger.warn({ holder }, 'the lease is held by another replica');
        this.leading = false;
        return false;
      }
      const observedForMs = Date.now() - this.observed.at;
      const holderDurationMs = (spec.leaseDurationSeconds ?? leaseDurationSeconds) * 1000;
      if (holder !== '' && !mine && observedForMs < holderDurationMs) return false;
      const updated = await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...lease,
          spec: {
            ...spec,
            holderIdentity: identity,
            leaseDurationSeconds,
            renewTime: now,
            acquireTime: mine && spec.acquireTime ? new V1MicroTime(spec.acquireTime) : now,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
          },
        },
      });
      this.observed = { resourceVersion: updated.metadata?.resourceVersion ?? '', at: Date.now() };
      this.lastRenewAt = Date.now();
      return true;
    } catch (err) {
      // 409: someone else updated the lease since we read it; they won this round.
      if (!(err instanceof ApiException && err.code === 409)) {
        this.logger.warn({ err: (err as Error).message, lease: this.leaseText() }, 'could not read or update the lease');
      }
      return false;
    }
  }

  /** Clears the holder so a standby acquires at once instead of waiting for expiry. */
  private async release(): Promise<void> {
    const { namespace, name, identity } = this.options;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = new V1MicroTime();
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: now } },
      });
      this.logger.info({ lease: this.leaseText() }, 'released the lease');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, lease: this.leaseText() }, 'could not release the lease; standbys take over when it expires');
    }
  }

  private leaseText(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }
}
