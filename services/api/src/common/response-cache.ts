import { Injectable } from '@nestjs/common';

/**
 * How long a public response is reused. Every viewer of the status page polls
 * the same few URLs; during an incident thousands may, and they must not each
 * cost a round of queries. One second of staleness is invisible next to the
 * polling period and the max-age the responses carry anyway.
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

  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (hit && hit.expiresAt > now) return hit.value as Promise<T>;
    const value = load();
    this.entries.set(key, { expiresAt: now + PUBLIC_CACHE_TTL_MS, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    if (this.entries.size > MAX_ENTRIES) this.evictExpired(now);
    return value;
  }

  private evictExpired(now: number): void {
    for (const [key, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(key);
    // Still full of live entries (many distinct query strings): drop the oldest.
    while (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}
