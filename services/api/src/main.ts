import 'reflect-metadata';
import { parseEnv } from '@vigil/config';
import { createLogger, createMetricsRegistry, reportFatal, shutdownSignal, startOpsServer } from '@vigil/service-runtime';
import { createApp } from './app.js';
import { apiEnv } from './config/api-config.js';
import { Readiness } from './health/readiness.js';

// Thin on purpose: configuration once, then the Nest app on PORT (public) and
// the ops server on OPS_PORT (/metrics, detailed /readyz: not for the
// Ingress) until SIGTERM, when both stop accepting requests and the pool closes.
async function main(): Promise<void> {
  const config = parseEnv(apiEnv);
  const logger = createLogger('api', config.LOG_LEVEL);
  const registry = createMetricsRegistry('api');
  const stopping = shutdownSignal(logger);
  const app = await createApp({ config, logger, registry });
  await app.listen(config.PORT, '0.0.0.0');
  logger.info({ port: config.PORT }, 'listening (status page /, /api/v1, /api/docs, /healthz, /readyz)');
  const readiness = app.get(Readiness);
  const ops = await startOpsServer({ port: config.OPS_PORT, registry, logger, ready: () => readiness.check() });
  await stopping;
  await app.close();
  await ops.close();
  logger.info('stopped');
}

main().catch((err) => reportFatal('api', err));
