/**
 * Uptime and latency arithmetic over rollups. Pure functions, so the windows
 * and percentiles are unit-tested without a database.
 */
import { LATENCY_BUCKET_BOUNDS_MS } from '@vigil/db';

export { LATENCY_BUCKET_BOUNDS_MS };

export const UPTIME_WINDOWS = ['24h', '7d', '30d', '90d'] as const;
export type UptimeWindow = (typeof UPTIME_WINDOWS)[number];

/** Days shown as bars on the status page and returned as daily history. */
export const HISTORY_DAYS = 90;
export const HISTORY_HOURS = 24;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function startOfUtcHour(t: Date): Date {
  return new Date(Math.floor(t.getTime() / HOUR_MS) * HOUR_MS);
}

export function startOfUtcDay(t: Date): Date {
  return new Date(Math.floor(t.getTime() / DAY_MS) * DAY_MS);
}

export interface WindowStarts {
  /** First hour bucket of the 24h window: the current hour and the 23 before it. */
  hours24: Date;
  /** First day bucket of each day-based window: today (so far) and the N-1 days before it, UTC. */
  days7: Date;
  days30: Date;
  days90: Date;
}

/**
 * Where each uptime window starts. 24h is read from hour rollups; 7d, 30d and
 * 90d from day rollups, so they cover whole UTC days plus today so far.
 */
export function windowStarts(now: Date): WindowStarts {
  const hour = startOfUtcHour(now).getTime();
  const day = startOfUtcDay(now).getTime();
  return {
    hours24: new Date(hour - (HISTORY_HOURS - 1) * HOUR_MS),
    days7: new Date(day - 6 * DAY_MS),
    days30: new Date(day - 29 * DAY_MS),
    days90: new Date(day - (HISTORY_DAYS - 1) * DAY_MS),
  };
}

/**
 * Successes over probes as a percentage, truncated (not rounded) to three
 * decimals so that 100 means no failed probe at all; null without probes.
 * Only probes count, so a check created mid-window is judged on the time it
 * existed, and a day before its creation is "no data", not downtime.
 */
export function uptimePercent(successes: number, probes: number): number | null {
  if (probes <= 0) return null;
  return Math.floor((successes * 100_000) / probes) / 1000;
}

/**
 * Estimates the q-quantile (0 < q <= 1) of latency from a histogram in
 * LATENCY_BUCKET_BOUNDS_MS, interpolating linearly inside the bucket; the
 * overflow bucket and the result are capped by the observed maximum.
 * Null when the histogram is empty.
 */
export function latencyQuantile(buckets: readonly number[], q: number, maxMs: number): number | null {
  const bounds = LATENCY_BUCKET_BOUNDS_MS;
  let total = 0;
  for (let i = 0; i <= bounds.length; i++) total += buckets[i] ?? 0;
  if (total === 0) return null;
  const rank = q * total;
  let cumulative = 0;
  for (let i = 0; i <= bounds.length; i++) {
    const count = buckets[i] ?? 0;
    if (count === 0 || cumulative + count < rank) {
      cumulative += count;
      continue;
    }
    const lower = i === 0 ? 0 : bounds[i - 1]!;
    const upper = i < bounds.length ? bounds[i]! : Math.max(maxMs, lower);
    const estimate = lower + ((upper - lower) * (rank - cumulative)) / count;
    return Math.round(maxMs > 0 ? Math.min(estimate, maxMs) : estimate);
  }
  return null;
}

/** ISO date (YYYY-MM-DD) of a UTC day. */
export function isoDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}

/** The HISTORY_DAYS UTC days ending today, oldest first. */
export function historyDays(now: Date): Date[] {
  const first = windowStarts(now).days90.getTime();
  return Array.from({ length: HISTORY_DAYS }, (_, i) => new Date(first + i * DAY_MS));
}

/** The HISTORY_HOURS UTC hours ending with the current one, oldest first. */
export function historyHours(now: Date): Date[] {
  const first = windowStarts(now).hours24.getTime();
  return Array.from({ length: HISTORY_HOURS }, (_, i) => new Date(first + i * HOUR_MS));
}
