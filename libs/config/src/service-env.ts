import { oneOf, port, url } from './env.js';

/** The variables every Vigil service reads. */
export const serviceEnv = {
  DATABASE_URL: url({ description: 'PostgreSQL connection URL', protocols: ['postgres', 'postgresql'] }),
  LOG_LEVEL: oneOf(['debug', 'info', 'warn', 'error'] as const, { description: 'minimum log level', default: 'info' }),
  OPS_PORT: port({ description: 'port for /metrics, /healthz and /readyz', default: 9090 }),
};
