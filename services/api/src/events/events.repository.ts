import { Inject, Injectable } from '@nestjs/common';
import type { ChecksRow, TransitionsRow } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { publicCheckCondition, scopeParams } from '../common/publish-scope.js';
import { PG_POOL } from '../common/tokens.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';

export type TransitionRow = Pick<TransitionsRow, 'id' | 'namespace' | 'name' | 'from_state' | 'to_state' | 'at' | 'code' | 'latency_ms' | 'reason' | 'message'> &
  Pick<ChecksRow, 'display_name' | 'group_name'>;

const TRANSITION_COLUMNS = `t.id, t.namespace, t.name, c.display_name, c.group_name, t.from_state, t.to_state, t.at, t.code, t.latency_ms, t.reason, t.message`;

/** Transitions of published checks, newest first. */
@Injectable()
export class EventsRepository {
  private readonly scope: [string[] | null, string[] | null];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.scope = scopeParams(config);
  }

  async forCheck(uid: string, limit: number, offset: number): Promise<TransitionRow[]> {
    const { rows } = await this.pool.query<TransitionRow>({
      name: 'api_check_transitions',
      text: `SELECT ${TRANSITION_COLUMNS}
        FROM vigil.transitions t JOIN vigil.checks c ON c.uid = t.check_uid
        WHERE t.check_uid = $1
        ORDER BY t.at DESC, t.id DESC
        LIMIT $2 OFFSET $3`,
      values: [uid, limit, offset],
    });
    return rows;
  }

  async countForCheck(uid: string): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({
      name: 'api_count_check_transitions',
      text: `SELECT count(*)::int AS n FROM vigil.transitions WHERE check_uid = $1`,
      values: [uid],
    });
    return rows[0]!.n;
  }

  /** The latest transitions of any published check (the status page's event list); reads the newest rows by `at` only. */
  async recent(limit: number): Promise<TransitionRow[]> {
    const { rows } = await this.pool.query<TransitionRow>({
      name: 'api_recent_transitions',
      text: `SELECT ${TRANSITION_COLUMNS}
        FROM vigil.transitions t JOIN vigil.checks c ON c.uid = t.check_uid
        WHERE ${publicCheckCondition(2, 3)}
        ORDER BY t.at DESC, t.id DESC
        LIMIT $1`,
      values: [limit, ...this.scope],
    });
    return rows;
  }
}
