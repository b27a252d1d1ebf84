import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import { KubeConfig } from '@kubernetes/client-node';
import { createPool, type Pool } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import type { Registry } from 'prom-client';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';
import { CLOCK, systemClock } from './clock.js';
import { ResponseCache } from './response-cache.js';
import { KUBE_CONFIG, LOGGER, METRICS_REGISTRY, PG_POOL } from './tokens.js';

export interface CoreResources {
  config: ApiConfig;
  logger: Logger;
  registry: Registry;
}

/** Ends the pool when the app closes (SIGTERM in production, app.close() in tests). */
class PoolCloser implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}

/**
 * The process-wide resources every feature uses: configuration, logger,
 * metrics registry, the read-only Postgres pool, the Kubernetes client config
 * (in-cluster, or KUBECONFIG), the clock and the public response cache.
 */
@Global()
@Module({})
export class CoreModule {
  static forRoot({ config, logger, registry }: CoreResources): DynamicModule {
    return {
      module: CoreModule,
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: CLOCK, useValue: systemClock },
        {
          provide: PG_POOL,
          useFactory: () =>
            createPool({ connectionString: config.DATABASE_URL.href, applicationName: 'vigil-api', max: 10, statementTimeoutMs: 5_000 }),
        },
        {
          provide: KUBE_CONFIG,
          useFactory: () => {
            const kc = new KubeConfig();
            kc.loadFromDefault();
            return kc;
          },
        },
        PoolCloser,
        { provide: ResponseCache, useFactory: () => new ResponseCache(config.PUBLIC_CACHE_TTL) },
      ],
      exports: [API_CONFIG, LOGGER, METRICS_REGISTRY, CLOCK, PG_POOL, KUBE_CONFIG, ResponseCache],
    };
  }
}
