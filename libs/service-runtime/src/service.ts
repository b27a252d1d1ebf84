import type { Registry } from 'prom-client';
import { parseEnv, type ConfigOf, type EnvSpec } from '@vigil/config';
import { createLogger, type Logger } from './logger.js';
import { createMetricsRegistry } from './metrics.js';
import { startOpsServer, type ProbeResult } from './ops-server.js';
import { shutdownSignal } from './shutdown.js';
import { reportFatal } from './fatal.js';

export interface ServiceContext<C> {
  config: C;
  logger: Logger;
  registry: Registry;
}

export interface RunningService {
  ready(): ProbeResult | Promise<ProbeResult>;
  live?(): ProbeResult | Promise<ProbeResult>;
  /** Stop taking work, finish or release in-flight work, flush, close connections. */
  stop(): Promise<void>;
}

export interface ServiceDefinition<S extends EnvSpec> {
  name: string;
  env: S;
  /** Where /metrics, /healthz and /readyz are served. */
  opsPort(config: ConfigOf<S>): number;
  logLevel(config: ConfigOf<S>): 'debug' | 'info' | 'warn' | 'error';
  start(context: ServiceContext<ConfigOf<S>>): Promise<RunningService>;
}

/**
 * The life of a service process: configuration parsed once (every bad variable
 * reported, exit code 1), JSON logs, metrics and health endpoints, and an
 * orderly stop on SIGTERM. The process then ends by itself once nothing is left
 * running, so a leaked handle shows up as a hung shutdown in tests.
 */
export async function runService<S extends EnvSpec>(definition: ServiceDefinition<S>): Promise<void> {
  let logger: Logger | undefined;
  try {
    const config = parseEnv(definition.env);
    logger = createLogger(definition.name, definition.logLevel(config));
    const registry = createMetricsRegistry(definition.name);
    const stopping = shutdownSignal(logger);
    const service = await definition.start({ config, logger, registry });
    const ops = await startOpsServer({
      port: definition.opsPort(config),
      registry,
      logger,
      ready: () => service.ready(),
      ...(service.live ? { live: () => service.live!() } : {}),
    });
    await stopping;
    await service.stop();
    await ops.close();
    logger.info('stopped');
  } catch (err) {
    if (logger) logger.fatal({ err }, 'service failed');
    reportFatal(definition.name, err);
  }
}
