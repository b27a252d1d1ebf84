import { Inject, Injectable } from '@nestjs/common';
import { databaseReadiness, type Pool } from '@vigil/db';
import type { ProbeResult } from '@vigil/service-runtime';
import { PG_POOL } from '../common/tokens.js';

/** Ready: Postgres answers and its schema is at the migration this code expects. */
@Injectable()
export class Readiness {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async check(): Promise<ProbeResult> {
    const db = await databaseReadiness(this.pool);
    return { ok: db.ok, checks: { postgres: db.ok ? 'ok' : db.detail } };
  }
}
