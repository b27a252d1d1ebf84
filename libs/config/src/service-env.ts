import { oneOf, port, url } from './env.js';

/** The variables every Vigil service reads. */
export const serviceEnv = {
  DATABASE_URL: url({ description: 'PostgreSQL connection URL', protocols: ['postgres', 'postgresql'] }),
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'] as const, { description: 'minimum log level', default: 'info' }),
  OPS_PORT: port({ description: 'port for /metrics, /healthz and /readyz', default: 9090 }),
};

/**
 * Variables a Vigil process reads outside its config parser: NODE_OPTIONS by
 * Node.js itself, PGPASSWORD by node-postgres (so the password stays out of
 * DATABASE_URL and needs no URL-encoding). A deployment may set them beside
 * the variables of a service's env spec.
 */
export const RUNTIME_ENV_NAMES: readonly string[] = Object.freeze(['NODE_OPTIONS', 'PGPASSWORD']);
