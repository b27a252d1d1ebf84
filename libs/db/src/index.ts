export * from './pool.js';
export * from './migrate.js';
export * from './readiness.js';
export * from './latency-buckets.js';
export * from './errors.js';
export * from './transaction.js';
export * from './backoff.js';
