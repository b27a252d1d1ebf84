import { Module, type DynamicModule } from '@nestjs/common';
import { ChecksModule } from './checks/checks.module.js';
import { CoreModule, type CoreResources } from './common/core.module.js';
import { DeliveriesModule } from './deliveries/deliveries.module.js';
import { EventsModule } from './events/events.module.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { StatusPageModule } from './status-page/status-page.module.js';
import { SummaryModule } from './summary/summary.module.js';

@Module({})
export class AppModule {
  static forRoot(resources: CoreResources): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(resources),
        MetricsModule,
        HealthModule,
        ChecksModule,
        SummaryModule,
        EventsModule,
        DeliveriesModule,
        StatusPageModule,
      ],
    };
  }
}
