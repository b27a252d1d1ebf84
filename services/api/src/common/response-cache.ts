import { Injectable } from '@nestjs/common';

/**
 * How long a public response is reused by default (PUBLIC_CACHE_TTL). Every
 * viewer of the status page polls the same few URLs; during an incident
 * thousands may, and they must not each cost a round of queries. One second of
 * staleness is invisible next to the polling period and the max-age the
 * responses carry anyway.
 */
export const PUBLIC_CACHE_TTL_MS = 1_000;
const MAX_ENTRIES = 1_000;

interface Entry {
  expiresAt: number;
  value: Promise<unknown>;
}

/**
 * A small in-process cache of public, unauthenticated results, with single
 * flight: concurrent requests for the same key share one load. Failures are
 * not cached. Never used for anything behind authentication.
 */
@Injectable()
export class ResponseCache {
  private readonly entries = new Map<string, Entry>();

  /** `ttlMs` 0 turns the cache off: every request loads (the benchmark measures misses so). */
  constructor(private readonly ttlMs: number = PUBLIC_CACHE_TTL_MS) {}

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    if (this.ttlMs === 0) return load();
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    // Fresh for the TTL from when the load finishes, not starts: a load slower
    // than the TTL (the status page's largest pages) is still reused.
    const entry: Entry = { expiresAt: Number.POSITIVE_INFINITY, value: load() };
    this.entries.set(key, entry);
    entry.value.then(
      () => (entry.expiresAt = Date.now() + this.ttlMs),
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    if (this.entries.size > MAX_ENTRIES) this.evictExpired(now);
    return entry.value as Promise<T>;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Still full of live entries (many distinct query strings): drop the oldest.
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
