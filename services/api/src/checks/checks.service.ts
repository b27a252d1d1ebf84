import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { redactUrl } from '@vigil/contracts';
import { API_CONFIG, type ApiConfig } from '../config/api-config.js';
import { CLOCK, type Clock } from '../common/clock.js';
import type { Page } from '../common/pagination.js';
import { ResponseCache } from '../common/response-cache.js';
import type { CheckDetailDto, CheckDto, CheckListQuery, CheckHistoryDto, LatencyPointDto, UptimeDto } from './checks.dto.js';
import { ChecksRepository, type CheckRow, type HistoryRow, type RollupRow, type UptimeTotalsRow } from './checks.repository.js';
import { UptimeTotals } from './uptime-totals.js';
import { historyDays, historyHours, isoDay, latencyQuantile, uptimePercent, windowStarts } from './uptime.js';

/** Public views of the published checks, built from checks and rollups only. */
@Injectable()
export class ChecksService {
  constructor(
    private readonly repository: ChecksRepository,
    private readonly totals: UptimeTotals,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly cache: ResponseCache,
  ) {}

  list(query: CheckListQuery): Promise<Page<CheckDto>> {
    return this.cache.get(JSON.stringify(['checks', query.group, query.state, query.include, query.limit, query.offset]), () => this.load(query));
  }

  detail(namespace: string, name: string, resultCount: number): Promise<CheckDetailDto> {
    return this.cache.get(JSON.stringify(['check', namespace, name, resultCount]), () => this.loadDetail(namespace, name, resultCount));
  }

  private async load(query: CheckListQuery): Promise<Page<CheckDto>> {
    const filters = { group: query.group, state: query.state };
    const now = this.clock();
    const starts = windowStarts(now);
    const [rows, total] = await Promise.all([this.repository.listPublished(filters, query.limit, query.offset), this.repository.countPublished(filters)]);
    const uids = rows.map((r) => r.uid);
    const [totalsByUid, days, hours] = await Promise.all([
      this.totals.forChecks(uids, now),
      query.include === 'history' ? this.repository.uptimeHistory(uids, 'day', starts.days90) : Promise.resolve([]),
      query.include === 'history' ? this.repository.uptimeHistory(uids, 'hour', starts.hours24) : Promise.resolve([]),
    ]);
    const daysByUid = groupByUid(days);
    const hoursByUid = groupByUid(hours);
    const items = rows.map((row) => {
      const dto = this.toDto(row, totalsByUid.get(row.uid), this.config.STATUS_PAGE_SHOW_NAMES);
      if (query.include === 'history') dto.history = history(now, daysByUid.get(row.uid) ?? [], hoursByUid.get(row.uid) ?? []);
      return dto;
    });
    return { items, total, limit: query.limit, offset: query.offset };
  }

  private async loadDetail(namespace: string, name: string, resultCount: number): Promise<CheckDetailDto> {
    const row = await this.repository.findPublished(namespace, name);
    if (!row) throw new NotFoundException(`no published check ${namespace}/${name}`);
    const now = this.clock();
    const starts = windowStarts(now);
    const [totals, days, hours, results] = await Promise.all([
      this.totals.forChecks([row.uid], now),
      this.repository.rollups([row.uid], 'day', starts.days90),
      this.repository.rollups([row.uid], 'hour', starts.hours24),
      this.repository.latestResults(row.uid, resultCount),
    ]);
    return {
      // The caller named the check, so naming it back reveals nothing.
      ...this.toDto(row, totals.get(row.uid), true),
      hourly: latencySeries(historyHours(now), hours),
      daily: latencySeries(historyDays(now), days),
      results: results.map((r) => ({
        at: r.started_at.toISOString(),
        ok: r.ok,
        code: r.code,
        latencyMs: r.total_ms === null ? null : Math.round(r.total_ms),
        reason: r.reason,
        ...(this.config.STATUS_PAGE_SHOW_URLS ? { message: r.message } : {}),
      })),
    };
  }

  /**
   * The public shape of a check. The target URL and the probe's error message
   * (which names the target host) appear only when the operator opted in;
   * the namespace and object name with `withNames`.
   */
  private toDto(row: CheckRow, totals: UptimeTotalsRow | undefined, withNames: boolean): CheckDto {
    const uptime: UptimeDto = {
      '24h': uptimePercent(totals?.successes_24h ?? 0, totals?.probes_24h ?? 0),
      '7d': uptimePercent(totals?.successes_7d ?? 0, totals?.probes_7d ?? 0),
      '30d': uptimePercent(totals?.successes_30d ?? 0, totals?.probes_30d ?? 0),
      '90d': uptimePercent(totals?.successes_90d ?? 0, totals?.probes_90d ?? 0),
    };
    return {
      id: row.uid,
      ...(withNames ? { namespace: row.namespace, name: row.name } : {}),
      displayName: row.display_name || row.name,
      group: row.group_name || null,
      state: row.state,
      since: row.state_since.toISOString(),
      code: row.last_code,
      latencyMs: row.last_latency_ms,
      lastProbeAt: row.last_probe_at?.toISOString() ?? null,
      reason: row.last_reason,
      // The check's target, redacted: its query or userinfo may be a credential.
      ...(this.config.STATUS_PAGE_SHOW_URLS ? { url: redactUrl(row.url), message: row.last_message } : {}),
      uptime,
    };
  }
}

function groupByUid<R extends HistoryRow>(rows: R[]): Map<string, R[]> {
  const byUid = new Map<string, R[]>();
  for (const row of rows) {
    const list = byUid.get(row.check_uid);
    if (list) list.push(row);
    else byUid.set(row.check_uid, [row]);
  }
  return byUid;
}

/** Aligns rollup rows to every slot (a slot without a row has no data). */
function bySlot<R extends HistoryRow>(slots: Date[], rows: R[]): Array<[Date, R | undefined]> {
  const byStart = new Map(rows.map((r) => [r.bucket_start.getTime(), r]));
  return slots.map((slot) => [slot, byStart.get(slot.getTime())]);
}

function history(now: Date, days: HistoryRow[], hours: HistoryRow[]): CheckHistoryDto {
  return {
    days: bySlot(historyDays(now), days).map(([day, r]) => ({
      date: isoDay(day),
      probes: r?.probes ?? 0,
      uptime: uptimePercent(r?.successes ?? 0, r?.probes ?? 0),
    })),
    latency: bySlot(historyHours(now), hours).map(([hour, r]) => ({
      hour: hour.toISOString(),
      avgMs: r && r.successes > 0 ? Math.round(r.latency_sum_ms / r.successes) : null,
    })),
  };
}

function latencySeries(slots: Date[], rows: RollupRow[]): LatencyPointDto[] {
  return bySlot(slots, rows).map(([start, r]) => ({
    start: start.toISOString(),
    probes: r?.probes ?? 0,
    uptime: uptimePercent(r?.successes ?? 0, r?.probes ?? 0),
    p50Ms: r ? latencyQuantile(r.latency_buckets, 0.5, r.latency_max_ms) : null,
    p95Ms: r ? latencyQuantile(r.latency_buckets, 0.95, r.latency_max_ms) : null,
    maxMs: r && r.successes > 0 ? Math.round(r.latency_max_ms) : null,
  }));
}
