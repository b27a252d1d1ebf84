export * from './certificates.js';
export * from './control-plane.js';
export * from './postgres.js';
export * from './processes.js';
export * from './services.js';
export * from './dns-stub.js';
export * from './http-target.js';
export * from './webhook-receiver.js';
