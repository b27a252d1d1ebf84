export * from './crd.js';
export * from './uptime-check.js';
