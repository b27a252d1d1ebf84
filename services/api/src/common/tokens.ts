/** Injection tokens of the process-wide resources the app is built around. */
export const PG_POOL = Symbol('PG_POOL');
export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');
export const LOGGER = Symbol('LOGGER');
export const KUBE_CONFIG = Symbol('KUBE_CONFIG');
