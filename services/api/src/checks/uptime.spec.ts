import { describe, expect, it } from '@jest/globals';
import { LATENCY_BUCKET_BOUNDS_MS, historyDays, historyHours, latencyQuantile, uptimePercent, windowStarts } from './uptime.js';

const histogram = (counts: Record<number, number>) => Array.from({ length: LATENCY_BUCKET_BOUNDS_MS.length + 1 }, (_, i) => counts[i] ?? 0);

describe('windowStarts', () => {
  it('covers the current hour plus 23 before it, and today plus N-1 whole UTC days', () => {
    const w = windowStarts(new Date('2026-03-01T05:42:10Z'));
    expect(w.hours24.toISOString()).toBe('2026-02-28T06:00:00.000Z');
    expect(w.days7.toISOString()).toBe('2026-02-23T00:00:00.000Z');
    expect(w.days30.toISOString()).toBe('2026-01-31T00:00:00.000Z');
    expect(w.days90.toISOString()).toBe('2025-12-02T00:00:00.000Z');
  });

  it('lists 90 days and 24 hours, oldest first, ending now', () => {
    const now = new Date('2026-03-01T05:42:10Z');
    const days = historyDays(now);
    expect(days).toHaveLength(90);
    expect(days[0]!.toISOString()).toBe('2025-12-02T00:00:00.000Z');
    expect(days[89]!.toISOString()).toBe('2026-03-01T00:00:00.000Z');
    const hours = historyHours(now);
    expect(hours).toHaveLength(24);
    expect(hours[23]!.toISOString()).toBe('2026-03-01T05:00:00.000Z');
  });
});

describe('uptimePercent', () => {
  it('truncates to three decimals so that only a perfect record shows 100', () => {
    expect(uptimePercent(23, 24)).toBe(95.833);
    expect(uptimePercent(99_999, 100_000)).toBe(99.999);
    expect(uptimePercent(999_999, 1_000_000)).toBe(99.999);
    expect(uptimePercent(29, 100)).toBe(29);
    expect(uptimePercent(5, 5)).toBe(100);
  });

  it('is null without probes (no data is not downtime)', () => {
    expect(uptimePercent(0, 0)).toBeNull();
  });
});

describe('latencyQuantile', () => {
  it('interpolates inside the bucket that holds the rank', () => {
    // 10 probes in (50, 75] ms: the median sits halfway through that bucket.
    expect(latencyQuantile(histogram({ 5: 10 }), 0.5, 80)).toBe(63);
    // 90 fast (<= 5 ms), 10 in (200, 300]: p95 is half-way through the slow bucket.
    expect(latencyQuantile(histogram({ 0: 90, 9: 10 }), 0.95, 290)).toBe(250);
    expect(latencyQuantile(histogram({ 0: 90, 9: 10 }), 0.5, 290)).toBe(3);
  });

  it('bounds the overflow bucket and the estimate by the observed maximum', () => {
    const overflow = LATENCY_BUCKET_BOUNDS_MS.length;
    // Over 30 s, slowest 40 s: the median of 4 is half-way between the two.
    expect(latencyQuantile(histogram({ [overflow]: 4 }), 0.5, 40_000)).toBe(35_000);
    // In (5 s, 10 s] but never slower than 5.5 s.
    expect(latencyQuantile(histogram({ 17: 4 }), 0.99, 5_500)).toBe(5_500);
  });

  it('is null for an empty or missing histogram', () => {
    expect(latencyQuantile([], 0.5, 0)).toBeNull();
    expect(latencyQuantile(histogram({}), 0.95, 0)).toBeNull();
  });
});
