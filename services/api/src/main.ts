import 'reflect-metadata';
import { parseEnv } from '@vigil/config';
import { createLogger, createMetricsRegistry, reportFatal, shutdownSignal } from '@vigil/service-runtime';
import { createApp } from './app.js';
import { apiEnv } from './config/api-config.js';

// Thin on purpose: configuration once, then the Nest app serving everything on
// PORT until SIGTERM, when it stops accepting requests and closes the pool.
async function main(): Promise<void> {
  const config = parseEnv(apiEnv);
  const logger = createLogger('api', config.LOG_LEVEL);
  const registry = createMetricsRegistry('api');
  const stopping = shutdownSignal(logger);
  const app = await createApp({ config, logger, registry });
  await app.listen(config.PORT, '0.0.0.0');
  logger.info({ port: config.PORT }, 'listening (status page /, /api/v1, /api/docs, /healthz, /readyz, /metrics)');
  await stopping;
  await app.close();
  logger.info('stopped');
}

main().catch((err) => reportFatal('api', err));
