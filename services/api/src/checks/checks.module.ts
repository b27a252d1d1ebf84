import { Module } from '@nestjs/common';
import { ChecksController } from './checks.controller.js';
import { ChecksRepository } from './checks.repository.js';
import { ChecksService } from './checks.service.js';
import { UptimeTotals } from './uptime-totals.js';

@Module({
  controllers: [ChecksController],
  providers: [ChecksRepository, ChecksService, UptimeTotals],
  exports: [ChecksRepository],
})
export class ChecksModule {}
