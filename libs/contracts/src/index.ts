// Vigil's cross-service vocabulary: what more than one service (or a service
// and Postgres, or a service and the CRD) must agree on. Dependency-free.
// docs/contracts.md describes each contract and who writes what.
export * from './channels.js';
export * from './states.js';
export * from './events.js';
export * from './reasons.js';
export * from './deliveries.js';
export * from './webhook.js';
export * from './rows.js';
export * from './namespaces.js';
export * from './redaction.js';
export * from './conditions.js';
