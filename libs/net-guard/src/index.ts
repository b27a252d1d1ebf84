export * from './address.js';
export * from './policy.js';
export * from './errors.js';
export * from './lookup.js';
export * from './connector.js';
export * from './env.js';
export * from './egress.js';
