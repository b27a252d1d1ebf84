import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { NO_STORE } from '../common/cache-control.js';
import { Readiness } from './readiness.js';

/**
 * The public port's health endpoints, for load balancers that can only probe
 * the traffic port (the ALB's health check): yes or no, never why. The reason
 * (Postgres error text) is on the ops port's /readyz, which the kubelet probes.
 */
@ApiExcludeController()
@Controller()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  /** Liveness: the process serves HTTP. A Postgres outage must not restart it, so nothing else is checked. */
  @Get('healthz')
  @Header('Cache-Control', NO_STORE)
  live() {
    return { status: 'ok' };
  }

  /** Readiness: 200 or 503, without the detail. */
  @Get('readyz')
  @Header('Cache-Control', NO_STORE)
  async ready(@Res({ passthrough: true }) res: Response) {
    const { ok } = await this.readiness.check();
    if (!ok) res.status(503);
    return { status: ok ? 'ok' : 'unavailable' };
  }
}
