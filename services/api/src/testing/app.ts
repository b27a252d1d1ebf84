// Builds the api in-process for supertest, exactly as main.ts does, on a real database.
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseEnv } from '@vigil/config';
import { createLogger } from '@vigil/service-runtime';
import { Registry } from 'prom-client';
import { AppModule } from '../app.module.js';
import { configureApp } from '../app.js';
import { CLOCK } from '../common/clock.js';
import { KUBE_CONFIG } from '../common/tokens.js';
import { apiEnv } from '../config/api-config.js';

export interface TestAppOptions {
  databaseUrl: string;
  env?: Record<string, string>;
  now?: () => Date;
  kubeConfig?: KubeConfig;
}

export async function createTestApp(options: TestAppOptions): Promise<INestApplication> {
  const config = parseEnv(apiEnv, { DATABASE_URL: options.databaseUrl, ...options.env });
  const logger = createLogger('api', 'error');
  let builder = Test.createTestingModule({ imports: [AppModule.forRoot({ config, logger, registry: new Registry() })] });
  if (options.now) builder = builder.overrideProvider(CLOCK).useValue(options.now);
  if (options.kubeConfig) builder = builder.overrideProvider(KUBE_CONFIG).useValue(options.kubeConfig);
  const moduleRef = await builder.compile();
  const app = moduleRef.createNestApplication({ logger: false });
  configureApp(app);
  await app.init();
  return app;
}
