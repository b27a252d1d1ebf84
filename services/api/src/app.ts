import { ValidationPipe, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule } from './app.module.js';
import type { CoreResources } from './common/core.module.js';
import { API_CONFIG, type ApiConfig } from './config/api-config.js';
import { NestPinoLogger } from './common/nest-logger.js';
import { HttpMetrics } from './metrics/http-metrics.js';

/**
 * What main.ts and the tests both apply to the app: strict query validation
 * (400 naming the bad parameter), request metrics, and the OpenAPI document.
 */
export function configureApp(app: INestApplication): void {
  const express = app as NestExpressApplication;
  express.disable('x-powered-by');
  express.set('query parser', 'simple');
  // req.ip, the client the delivery-log rate limit counts: the connecting
  // address, or with TRUSTED_PROXIES the last address in X-Forwarded-For that
  // is not one of them (a client cannot spoof it past a proxy that appends).
  const { TRUSTED_PROXIES } = app.get<ApiConfig>(API_CONFIG);
  express.set('trust proxy', TRUSTED_PROXIES.length > 0 ? TRUSTED_PROXIES : false);
  app.use(app.get(HttpMetrics).middleware());
  app.useGlobalPipes(
    new ValidationPipe({
      transform: true,
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      // One message per bad parameter: "limit must be an integer number", not every rule it broke.
      stopAtFirstError: true,
    }),
  );
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Vigil API')
      .setDescription(
        'Read-only uptime data of the published UptimeChecks, and webhook delivery logs for callers that may get the checks of a namespace (Kubernetes bearer token).',
      )
      .setVersion('v1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'a Kubernetes token (e.g. `kubectl create token`)' }, 'kubernetes')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', yamlDocumentUrl: 'api/docs/openapi.yaml' });
}

/** Builds the whole app on the given process resources; the caller listens and closes it. */
export async function createApp(resources: CoreResources): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(resources), {
    logger: new NestPinoLogger(resources.logger),
  });
  configureApp(app);
  return app;
}
