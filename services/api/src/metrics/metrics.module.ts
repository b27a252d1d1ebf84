import { Global, Module } from '@nestjs/common';
import { HttpMetrics } from './http-metrics.js';

/** The request metrics middleware; /metrics itself is on the ops port (main.ts), not the public one. */
@Global()
@Module({
  providers: [HttpMetrics],
  exports: [HttpMetrics],
})
export class MetricsModule {}
