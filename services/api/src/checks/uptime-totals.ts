import { Injectable } from '@nestjs/common';
import { ChecksRepository, type UptimeTotalsRow, type WindowSums } from './checks.repository.js';
import { startOfUtcDay, startOfUtcHour, windowStarts } from './uptime.js';

/**
 * How long after an hour or day ends its rollup may still change: probers
 * flush results in batches, so a probe at 10:59:59 may land at 11:00:05.
 */
export const ROLLUP_SETTLE_MS = 5 * 60_000;
const MAX_MEMO_ENTRIES = 100_000;

/** Settled sums of one check, each with the window boundaries it was computed for. */
interface Memo {
  dayKey?: string;
  days?: WindowSums;
  hourKey?: string;
  hours?: WindowSums;
}

const ZERO: WindowSums = { probes_24h: 0, successes_24h: 0, probes_7d: 0, successes_7d: 0, probes_30d: 0, successes_30d: 0, probes_90d: 0, successes_90d: 0 };

/**
 * Probes and successes per uptime window. Rollups of settled periods (days
 * before today, hours before the current one, once ROLLUP_SETTLE_MS has
 * passed) never change, so their sums are kept per check until the window
 * moves; a request then reads only the open rows (about two per check) instead
 * of all 114. Without this, a page of 50 checks reads ~5,000 heap pages
 * (see bench/api/RESULTS.md).
 */
@Injectable()
export class UptimeTotals {
  private readonly memo = new Map<string, Memo>();

  constructor(private readonly repository: ChecksRepository) {}

  async forChecks(uids: string[], now: Date): Promise<Map<string, UptimeTotalsRow>> {
    if (uids.length === 0) return new Map();
    const starts = windowStarts(now);
    const openDay = startOfUtcDay(new Date(now.getTime() - ROLLUP_SETTLE_MS));
    const openHour = startOfUtcHour(new Date(now.getTime() - ROLLUP_SETTLE_MS));
    const dayKey = `${starts.days90.getTime()}/${openDay.getTime()}`;
    const hourKey = `${starts.hours24.getTime()}/${openHour.getTime()}`;

    const staleDays = uids.filter((uid) => this.memo.get(uid)?.dayKey !== dayKey);
    const staleHours = uids.filter((uid) => this.memo.get(uid)?.hourKey !== hourKey);
    const [settledDays, settledHours, open] = await Promise.all([
      this.repository.settledDaySums(staleDays, starts, openDay),
      this.repository.settledHourSums(staleHours, starts.hours24, openHour),
      this.repository.openSums(uids, openDay, openHour, starts),
    ]);
    if (this.memo.size > MAX_MEMO_ENTRIES) this.memo.clear();
    const entry = (uid: string) => this.memo.get(uid) ?? this.memo.set(uid, {}).get(uid)!;
    const daysByUid = new Map(settledDays.map((r) => [r.check_uid, r]));
    const hoursByUid = new Map(settledHours.map((r) => [r.check_uid, r]));
    for (const uid of staleDays) Object.assign(entry(uid), { dayKey, days: daysByUid.get(uid) ?? ZERO });
    for (const uid of staleHours) Object.assign(entry(uid), { hourKey, hours: hoursByUid.get(uid) ?? ZERO });

    const openByUid = new Map(open.map((r) => [r.check_uid, r]));
    const totals = new Map<string, UptimeTotalsRow>();
    for (const uid of uids) {
      const memo = this.memo.get(uid);
      const parts = [memo?.days ?? ZERO, memo?.hours ?? ZERO, openByUid.get(uid) ?? ZERO];
      const sum = (key: keyof WindowSums) => parts.reduce((n, p) => n + p[key], 0);
      totals.set(uid, {
        check_uid: uid,
        probes_24h: sum('probes_24h'),
        successes_24h: sum('successes_24h'),
        probes_7d: sum('probes_7d'),
        successes_7d: sum('successes_7d'),
        probes_30d: sum('probes_30d'),
        successes_30d: sum('successes_30d'),
        probes_90d: sum('probes_90d'),
        successes_90d: sum('successes_90d'),
      });
    }
    return totals;
  }
}
