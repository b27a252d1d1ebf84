import { Module } from '@nestjs/common';
import { DeliveriesController } from './deliveries.controller.js';
import { DeliveriesRepository } from './deliveries.repository.js';
import { KubeAuthService } from './kube-auth.service.js';

@Module({
  controllers: [DeliveriesController],
  providers: [DeliveriesRepository, KubeAuthService],
})
export class DeliveriesModule {}
