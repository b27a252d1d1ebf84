export * from './pool.js';
export * from './migrate.js';
export * from './readiness.js';
export * from './latency-buckets.js';
