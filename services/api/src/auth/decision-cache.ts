import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** SHA-256 of `parts`, hex: the caches key on this, so no token is ever kept in memory longer than its request. */
export function hashKey(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/**
 * A bounded cache of auth decisions: a yes is kept for `positiveTtlMs`, a no
 * for `negativeTtlMs` (shorter, so a fixed RBAC binding or a fresh token
 * works soon), least recently used evicted beyond `max`. A TTL of 0 caches
 * nothing of that kind. Concurrent lookups of one key share one decision, so
 * a burst of requests with the same token costs the API server one review.
 */
export class DecisionCache<T> {
  private readonly entries: LRUCache<string, { value: T }>;
  private readonly pending = new Map<string, Promise<T>>();

  constructor(private readonly options: { max: number; positiveTtlMs: number; negativeTtlMs: number; isPositive: (value: T) => boolean }) {
    this.entries = new LRUCache({ max: options.max });
  }

  /** The cached decision, or undefined when there is none (or it expired). */
  get(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /** Decides with `decide` (once for concurrent callers) and caches the outcome; a throw is not cached. */
  async decide(key: string, decide: () => Promise<T>): Promise<T> {
    const running = this.pending.get(key);
    if (running) return running;
    const decision = decide().then((value) => {
      const ttl = this.options.isPositive(value) ? this.options.positiveTtlMs : this.options.negativeTtlMs;
      if (ttl > 0) this.entries.set(key, { value }, { ttl });
      return value;
    });
    this.pending.set(key, decision);
    try {
      return await decision;
    } finally {
      this.pending.delete(key);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}

/**
 * Counts failures per client in fixed windows: once a client has `limit`
 * failures in a window, `blockedForMs` says how long until its window ends.
 * Bounded (least recently failing clients forgotten first), so a flood of
 * addresses costs memory, never more than `max` entries.
 */
export class FailureLimiter {
  private readonly windows: LRUCache<string, { failures: number }>;

  constructor(private readonly options: { limit: number; windowMs: number; max: number }) {
    this.windows = new LRUCache({ max: options.max, ttl: options.windowMs });
  }

  recordFailure(client: string): void {
    const window = this.windows.get(client);
    // noUpdateTTL: the window runs from the first failure, later ones do not extend it.
    if (window) this.windows.set(client, { failures: window.failures + 1 }, { noUpdateTTL: true });
    else this.windows.set(client, { failures: 1 });
  }

  /** Milliseconds until `client` may try again; 0 when it is not blocked. */
  blockedForMs(client: string): number {
    const window = this.windows.get(client);
    if (!window || window.failures < this.options.limit) return 0;
    return Math.max(1, Math.ceil(this.windows.getRemainingTTL(client)));
  }
}
