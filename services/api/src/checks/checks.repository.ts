import { Inject, Injectable } from '@nestjs/common';
import type { ChecksRow } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import { publicCheckCondition, scopeParams } from '../common/publish-scope.js';
import { PG_POOL } from '../common/tokens.js';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';
import type { WindowStarts } from './uptime.js';

export type CheckRow = Pick<
  ChecksRow,
  'uid' | 'namespace' | 'name' | 'display_name' | 'group_name' | 'url' | 'state' | 'state_since' | 'last_code' | 'last_latency_ms' | 'last_probe_at' | 'last_reason' | 'last_message'
>;

export interface WindowSums {
  probes_24h: number;
  successes_24h: number;
  probes_7d: number;
  successes_7d: number;
  probes_30d: number;
  successes_30d: number;
  probes_90d: number;
  successes_90d: number;
}

export interface UptimeTotalsRow extends WindowSums {
  check_uid: string;
}

export interface HistoryRow {
  check_uid: string;
  bucket_start: Date;
  probes: number;
  successes: number;
  latency_sum_ms: number;
}

export interface RollupRow extends HistoryRow {
  latency_max_ms: number;
  latency_buckets: number[];
}

export interface ProbeResultRow {
  started_at: Date;
  ok: boolean;
  code: number;
  reason: string | null;
  message: string | null;
  total_ms: number | null;
}

export interface CheckFilters {
  group?: string;
  state?: string;
}

const CHECK_COLUMNS = `c.uid, c.namespace, c.name, c.display_name, c.group_name, c.url, c.state, c.state_since,
  c.last_code, c.last_latency_ms, c.last_probe_at, c.last_reason, c.last_message`;

// Only published checks inside the operator's publish scope are public. A
// check deleted and re-created under the same name briefly has two rows; the
// public sees the newest one only (`superseded` is kept by triggers, migration 0005).
const publicAndNewest = (namespacesParam: number, groupsParam: number) => `${publicCheckCondition(namespacesParam, groupsParam)} AND NOT c.superseded`;

/** Read-only SQL over checks, rollups and (index-bounded) probe results. */
@Injectable()
export class ChecksRepository {
  private readonly scope: [string[] | null, string[] | null];

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(API_CONFIG) config: ApiConfig,
  ) {
    this.scope = scopeParams(config);
  }

  /** A page of published checks, ungrouped last, then by display name. */
  async listPublished(filters: CheckFilters, limit: number, offset: number): Promise<CheckRow[]> {
    const { rows } = await this.pool.query<CheckRow>({
      name: 'api_list_published_checks',
      text: `SELECT ${CHECK_COLUMNS}
        FROM vigil.checks c
        WHERE ${publicAndNewest(5, 6)}
          AND ($1::text IS NULL OR c.group_name = $1)
          AND ($2::text IS NULL OR c.state = $2)
        ORDER BY nullif(c.group_name, '') NULLS LAST, coalesce(nullif(c.display_name, ''), c.name), c.namespace, c.name
        LIMIT $3 OFFSET $4`,
      values: [filters.group ?? null, filters.state ?? null, limit, offset, ...this.scope],
    });
    return rows;
  }

  async countPublished(filters: CheckFilters): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>({
      name: 'api_count_published_checks',
      text: `SELECT count(*)::int AS n
        FROM vigil.checks c
        WHERE ${publicAndNewest(3, 4)}
          AND ($1::text IS NULL OR c.group_name = $1)
          AND ($2::text IS NULL OR c.state = $2)`,
      values: [filters.group ?? null, filters.state ?? null, ...this.scope],
    });
    return rows[0]!.n;
  }

  async findPublished(namespace: string, name: string): Promise<CheckRow | null> {
    const { rows } = await this.pool.query<CheckRow>({
      name: 'api_find_published_check',
      text: `SELECT ${CHECK_COLUMNS}
        FROM vigil.checks c
        WHERE c.namespace = $1 AND c.name = $2 AND ${publicCheckCondition(3, 4)}
        ORDER BY c.created_at DESC, c.uid DESC
        LIMIT 1`,
      values: [namespace, name, ...this.scope],
    });
    return rows[0] ?? null;
  }

  /** Day-rollup sums of the settled days of each window: from the 90d start up to (not including) `openDay`. */
  async settledDaySums(uids: string[], starts: WindowStarts, openDay: Date): Promise<UptimeTotalsRow[]> {
    if (uids.length === 0) return [];
    const { rows } = await this.pool.query<UptimeTotalsRow>({
      name: 'api_settled_day_sums',
      text: `SELECT check_uid, 0 AS probes_24h, 0 AS successes_24h,
          coalesce(sum(probes)    FILTER (WHERE bucket_start >= $2), 0)::bigint AS probes_7d,
          coalesce(sum(successes) FILTER (WHERE bucket_start >= $2), 0)::bigint AS successes_7d,
          coalesce(sum(probes)    FILTER (WHERE bucket_start >= $3), 0)::bigint AS probes_30d,
          coalesce(sum(successes) FILTER (WHERE bucket_start >= $3), 0)::bigint AS successes_30d,
          coalesce(sum(probes), 0)::bigint AS probes_90d,
          coalesce(sum(successes), 0)::bigint AS successes_90d
        FROM vigil.uptime_rollups
        WHERE check_uid = ANY($1::uuid[]) AND granularity = 'day' AND bucket_start >= $4 AND bucket_start < $5
        GROUP BY check_uid`,
      values: [uids, starts.days7, starts.days30, starts.days90, openDay],
    });
    return rows;
  }

  /** Hour-rollup sums of the settled hours of the 24h window: from its start up to (not including) `openHour`. */
  async settledHourSums(uids: string[], from: Date, openHour: Date): Promise<UptimeTotalsRow[]> {
    if (uids.length === 0) return [];
    const { rows } = await this.pool.query<UptimeTotalsRow>({
      name: 'api_settled_hour_sums',
      text: `SELECT check_uid, sum(probes)::bigint AS probes_24h, sum(successes)::bigint AS successes_24h,
          0 AS probes_7d, 0 AS successes_7d, 0 AS probes_30d, 0 AS successes_30d, 0 AS probes_90d, 0 AS successes_90d
        FROM vigil.uptime_rollups
        WHERE check_uid = ANY($1::uuid[]) AND granularity = 'hour' AND bucket_start >= $2 AND bucket_start < $3
        GROUP BY check_uid`,
      values: [uids, from, openHour],
    });
    return rows;
  }

  /** Sums of the rollups still being written (today's day row, the current hour's row), which count in every window. */
  async openSums(uids: string[], openDay: Date, openHour: Date, starts: WindowStarts): Promise<UptimeTotalsRow[]> {
    const { rows } = await this.pool.query<UptimeTotalsRow>({
      name: 'api_open_sums',
      text: `SELECT check_uid,
          coalesce(sum(probes)    FILTER (WHERE granularity = 'hour'), 0)::bigint AS probes_24h,
          coalesce(sum(successes) FILTER (WHERE granularity = 'hour'), 0)::bigint AS successes_24h,
          coalesce(sum(probes)    FILTER (WHERE granularity = 'day' AND bucket_start >= $4), 0)::bigint AS probes_7d,
          coalesce(sum(successes) FILTER (WHERE granularity = 'day' AND bucket_start >= $4), 0)::bigint AS successes_7d,
          coalesce(sum(probes)    FILTER (WHERE granularity = 'day' AND bucket_start >= $5), 0)::bigint AS probes_30d,
          coalesce(sum(successes) FILTER (WHERE granularity = 'day' AND bucket_start >= $5), 0)::bigint AS successes_30d,
          coalesce(sum(probes)    FILTER (WHERE granularity = 'day'), 0)::bigint AS probes_90d,
          coalesce(sum(successes) FILTER (WHERE granularity = 'day'), 0)::bigint AS successes_90d
        FROM vigil.uptime_rollups
        WHERE check_uid = ANY($1::uuid[])
          AND ((granularity = 'day' AND bucket_start >= $2) OR (granularity = 'hour' AND bucket_start >= $3))
        GROUP BY check_uid`,
      values: [uids, openDay, openHour, starts.days7, starts.days30],
    });
    return rows;
  }

  /** Rollup rows of one granularity from `from` on, oldest first. */
  async rollups(uids: string[], granularity: 'hour' | 'day', from: Date): Promise<RollupRow[]> {
    if (uids.length === 0) return [];
    const { rows } = await this.pool.query<RollupRow>({
      name: 'api_rollups',
      text: `SELECT check_uid, bucket_start, probes, successes, latency_sum_ms, latency_max_ms, latency_buckets
        FROM vigil.uptime_rollups
        WHERE check_uid = ANY($1::uuid[]) AND granularity = $2 AND bucket_start >= $3
        ORDER BY check_uid, bucket_start`,
      values: [uids, granularity, from],
    });
    return rows;
  }

  /** Uptime and mean latency per bucket for the status page's bars and sparklines: no histograms, which are costly to decode. */
  async uptimeHistory(uids: string[], granularity: 'hour' | 'day', from: Date): Promise<HistoryRow[]> {
    if (uids.length === 0) return [];
    const { rows } = await this.pool.query<HistoryRow>({
      name: 'api_uptime_history',
      text: `SELECT check_uid, bucket_start, probes, successes, latency_sum_ms
        FROM vigil.uptime_rollups
        WHERE check_uid = ANY($1::uuid[]) AND granularity = $2 AND bucket_start >= $3`,
      values: [uids, granularity, from],
    });
    return rows;
  }

  /** The latest results of one check: bounded by the (check_uid, started_at DESC) index, never a scan. */
  async latestResults(uid: string, limit: number): Promise<ProbeResultRow[]> {
    if (limit === 0) return [];
    const { rows } = await this.pool.query<ProbeResultRow>({
      name: 'api_latest_probe_results',
      text: `SELECT started_at, ok, code, reason, message, total_ms
        FROM vigil.probe_results
        WHERE check_uid = $1
        ORDER BY started_at DESC
        LIMIT $2`,
      values: [uid, limit],
    });
    return rows;
  }
}
