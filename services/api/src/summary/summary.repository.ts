import { Inject, Injectable } from '@nestjs/common';
import type { CheckState } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { publicCheckCondition, scopeParams } from '../common/publish-scope.js';
import { PG_POOL } from '../common/tokens.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';

export interface StateCountRow {
  state: CheckState;
  n: number;
}

@Injectable()
export class SummaryRepository {
  private readonly scope: [string[] | null, string[] | null];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.scope = scopeParams(config);
  }

  /** Published checks in the publish scope per state (the newest row of a re-created check only). */
  async countByState(): Promise<StateCountRow[]> {
    const { rows } = await this.pool.query<StateCountRow>({
      name: 'api_count_by_state',
      text: `SELECT c.state, count(*)::int AS n
        FROM vigil.checks c
        WHERE ${publicCheckCondition(1, 2)} AND NOT c.superseded
        GROUP BY c.state`,
      values: this.scope,
    });
    return rows;
  }
}
