export * from './duration.js';
export * from './env.js';
export * from './service-env.js';
