/**
 * Each namespace's share of a replica's in-flight probes, so one namespace's
 * slow or silent targets cannot hold every probe slot: a namespace may have
 * at most `share()` probes in flight, where
 *
 *   share = max(minShare, floor(concurrency / (active + 1)))
 *
 * and `active` counts the namespaces running a probe here, waiting for one,
 * or refused one recently (the asking namespace included). The `+ 1` keeps one share free for
 * a namespace that is not running yet, so its first probe starts at once; as
 * more namespaces become active every share shrinks, and a namespace above its
 * new share starts nothing until it is back under it. Probes are never
 * interrupted to make room: a namespace holding more than its new share gives
 * slots back as its probes end (within one probe timeout).
 */
export interface SharesOptions {
  /** PROBE_CONCURRENCY: the replica's in-flight probes at most. */
  concurrency: number;
  /** The smallest share, however many namespaces are active. */
  minShare: number;
  /** A namespace refused a slot stays active (shrinking the others' shares) this long. */
  wantingMs: number;
  now?: () => number;
}

export interface ClaimRooms {
  /** Namespaces claimed precisely: refused a slot recently. */
  namespaces: string[];
  /** How many more slots of each this replica can run now (share − in flight − waiting for room or for their due time). */
  rooms: number[];
}

interface Waiter {
  resolve(acquired: boolean): void;
  timer: NodeJS.Timeout;
}

export class NamespaceShares {
  private readonly inFlight = new Map<string, number>();
  /** Namespace → due slots waiting for room in its share, in due order. */
  private readonly waiting = new Map<string, Waiter[]>();
  /** Namespace → when it was last refused a slot. */
  private readonly refused = new Map<string, number>();
  private readonly now: () => number;

  constructor(private readonly options: SharesOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Namespaces running a probe here, waiting for one, or refused one within `wantingMs`. */
  activeNamespaces(): Set<string> {
    const active = new Set(this.inFlight.keys());
    for (const namespace of this.waiting.keys()) active.add(namespace);
    const since = this.now() - this.options.wantingMs;
    for (const [namespace, at] of this.refused) {
      if (at >= since) active.add(namespace);
      else this.refused.delete(namespace);
    }
    return active;
  }

  /** The share of `namespace` now (it counts as active). */
  share(namespace?: string): number {
    const active = this.activeNamespaces();
    if (namespace !== undefined) active.add(namespace);
    return this.shareFor(active.size);
  }

  inFlightOf(namespace: string): number {
    return this.inFlight.get(namespace) ?? 0;
  }

  /** Takes a slot of the namespace's share now; false (and the namespace counts as refused) when it is full. */
  tryAcquire(namespace: string): boolean {
    if (this.take(namespace)) return true;
    this.refused.set(namespace, this.now());
    return false;
  }

  /**
   * A slot of the namespace's share, waiting up to `maxWaitMs` for one:
   * a burst of fast probes gets through in milliseconds, while a namespace
   * whose share is held by slow probes is refused (false) and should give
   * the slot back.
   */
  acquire(namespace: string, maxWaitMs: number): Promise<boolean> {
    if (!this.waiting.has(namespace) && this.take(namespace)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const queue = this.waiting.get(namespace) ?? [];
      const waiter: Waiter = {
        resolve,
        timer: setTimeout(() => {
          this.dropWaiter(namespace, waiter);
          this.refused.set(namespace, this.now());
          resolve(false);
        }, maxWaitMs),
      };
      queue.push(waiter);
      this.waiting.set(namespace, queue);
    });
  }

  release(namespace: string): void {
    const held = this.inFlightOf(namespace) - 1;
    if (held > 0) this.inFlight.set(namespace, held);
    else this.inFlight.delete(namespace);
    // Its own waiters first; then any namespace whose share grew because this one went idle.
    this.serve(namespace);
    if (held <= 0) for (const other of [...this.waiting.keys()]) this.serve(other);
  }

  /** Refuses every waiting slot (shutdown). */
  refuseWaiting(): void {
    for (const [namespace, queue] of this.waiting) {
      this.waiting.delete(namespace);
      for (const waiter of queue) {
        clearTimeout(waiter.timer);
        waiter.resolve(false);
      }
    }
  }

  waitingCount(): number {
    let count = 0;
    for (const queue of this.waiting.values()) count += queue.length;
    return count;
  }

  private take(namespace: string): boolean {
    const held = this.inFlightOf(namespace);
    if (held >= this.share(namespace)) return false;
    this.inFlight.set(namespace, held + 1);
    return true;
  }

  private serve(namespace: string): void {
    const queue = this.waiting.get(namespace);
    while (queue && queue.length > 0 && this.take(namespace)) {
      const waiter = queue.shift()!;
      if (queue.length === 0) this.waiting.delete(namespace);
      clearTimeout(waiter.timer);
      waiter.resolve(true);
    }
  }

  private dropWaiter(namespace: string, waiter: Waiter): void {
    const queue = this.waiting.get(namespace);
    if (!queue) return;
    const at = queue.indexOf(waiter);
    if (at >= 0) queue.splice(at, 1);
    if (queue.length === 0) this.waiting.delete(namespace);
  }

  /** Namespaces whose in-flight probes fill their share. */
  atShare(): number {
    const share = this.shareFor(this.activeNamespaces().size);
    let count = 0;
    for (const held of this.inFlight.values()) if (held >= share) count++;
    return count;
  }

  /**
   * Per-namespace claim limits. A namespace refused a slot recently (its
   * share is held by slow probes) is claimed at most up to what it can run
   * now, so its other due slots stay unclaimed for replicas with room (and
   * never wait here under a lease). Other namespaces are limited only by the
   * replica's claim limit: fast probes free their slot in milliseconds, so a
   * namespace may run thousands of probes a second through its share.
   */
  claimRooms(scheduledPerNamespace: ReadonlyMap<string, number>): ClaimRooms {
    const active = this.activeNamespaces();
    const share = this.shareFor(active.size);
    const namespaces: string[] = [];
    const rooms: number[] = [];
    for (const namespace of active) {
      const held = this.inFlightOf(namespace);
      if (!this.refused.has(namespace)) continue;
      namespaces.push(namespace);
      const waiting = this.waiting.get(namespace)?.length ?? 0;
      rooms.push(Math.max(0, share - held - waiting - (scheduledPerNamespace.get(namespace) ?? 0)));
    }
    return { namespaces, rooms };
  }

  private shareFor(active: number): number {
    const { concurrency, minShare } = this.options;
    return Math.min(concurrency, Math.max(minShare, Math.floor(concurrency / (Math.max(1, active) + 1))));
  }
}
