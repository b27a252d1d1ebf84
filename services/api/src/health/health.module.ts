import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { PostgresHealthIndicator } from './postgres.health.js';

@Module({
  // Readiness failures are reported by /readyz itself (and by the kubelet); logging each probe would flood the logs.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [PostgresHealthIndicator],
})
export class HealthModule {}
