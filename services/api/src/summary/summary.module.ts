import { Module } from '@nestjs/common';
import { SummaryController } from './summary.controller.js';
import { SummaryRepository } from './summary.repository.js';

@Module({
  controllers: [SummaryController],
  providers: [SummaryRepository],
})
export class SummaryModule {}
