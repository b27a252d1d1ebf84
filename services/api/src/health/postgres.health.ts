import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { databaseReadiness, type Pool } from '@vigil/db';
import { PG_POOL } from '../common/tokens.js';

/** Postgres answers and its schema is at the migration this code expects. */
@Injectable()
export class PostgresHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  async isReady(key: string) {
    const indicator = this.indicators.check(key);
    const db = await databaseReadiness(this.pool);
    return db.ok ? indicator.up() : indicator.down({ message: db.detail });
  }
}
