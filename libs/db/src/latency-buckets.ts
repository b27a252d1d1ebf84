/**
 * Upper bounds (inclusive, ms) of the latency histogram in
 * uptime_rollups.latency_buckets. The array has one count per bound plus a
 * last overflow count (> 30 s), so LATENCY_BUCKET_BOUNDS_MS.length + 1
 * entries; bucket i counts successful probes with bounds[i-1] < total_ms <=
 * bounds[i]. Probers write it, the api estimates p50/p95 from it: part of
 * the schema, so changing it needs a migration that rewrites existing rollups.
 */
export const LATENCY_BUCKET_BOUNDS_MS: readonly number[] = Object.freeze([
  5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000,
]);

export const LATENCY_BUCKET_COUNT = LATENCY_BUCKET_BOUNDS_MS.length + 1;

export function latencyBucket(totalMs: number): number {
  for (let i = 0; i < LATENCY_BUCKET_BOUNDS_MS.length; i++) if (totalMs <= LATENCY_BUCKET_BOUNDS_MS[i]!) return i;
  return LATENCY_BUCKET_BOUNDS_MS.length;
}
