export * from './env.js';
export * from './service-env.js';
