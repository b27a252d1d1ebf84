import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { NO_STORE } from '../common/cache-control.js';
import { PostgresHealthIndicator } from './postgres.health.js';

@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly postgres: PostgresHealthIndicator,
  ) {}

  /** Liveness: the process serves HTTP. A Postgres outage must not restart it, so nothing else is checked. */
  @Get('healthz')
  @Header('Cache-Control', NO_STORE)
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** Readiness: Postgres reachable and migrated to what this code expects (503 with the reason otherwise). */
  @Get('readyz')
  @Header('Cache-Control', NO_STORE)
  @HealthCheck()
  ready() {
    return this.health.check([() => this.postgres.isReady('postgres')]);
  }
}
