import { Inject, Injectable } from '@nestjs/common';
import type { CheckState } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { PG_POOL } from '../common/tokens.js';

export interface StateCountRow {
  state: CheckState;
  n: number;
}

@Injectable()
export class SummaryRepository {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /** Published checks per state (the newest row of a re-created check only). */
  async countByState(): Promise<StateCountRow[]> {
    const { rows } = await this.pool.query<StateCountRow>({
      name: 'api_count_by_state',
      text: `SELECT c.state, count(*)::int AS n
        FROM vigil.checks c
        WHERE c.publish AND NOT c.superseded
        GROUP BY c.state`,
    });
    return rows;
  }
}
