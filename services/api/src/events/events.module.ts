import { Module } from '@nestjs/common';
import { ChecksModule } from '../checks/checks.module.js';
import { EventsController } from './events.controller.js';
import { EventsRepository } from './events.repository.js';

@Module({
  imports: [ChecksModule],
  controllers: [EventsController],
  providers: [EventsRepository],
})
export class EventsModule {}
