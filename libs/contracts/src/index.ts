// Vigil's cross-service vocabulary: what more than one service (or a service
// and Postgres, or a service and the CRD) must agree on. Dependency-free.
export * from './channels.js';
export * from './states.js';
