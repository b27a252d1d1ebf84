import type { ProbeRecord } from '../types.js';
import { LATENCY_BUCKET_COUNT, latencyBucket } from '@vigil/db';

export interface RollupRow {
  uid: string;
  granularity: 'hour' | 'day';
  bucketStart: number;
  probes: number;
  successes: number;
  /** Latency sum, max and histogram cover successful probes only: a timeout is not a latency. */
  latencySumMs: number;
  latencyMaxMs: number;
  latencyBuckets: number[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Aggregates a batch per check and UTC hour / day, sorted by key (the order rows are locked in). */
export function aggregateRollups(records: readonly ProbeRecord[]): RollupRow[] {
  const rows = new Map<string, RollupRow>();
  for (const record of records) {
    for (const [granularity, size] of [
      ['hour', HOUR],
      ['day', DAY],
    ] as const) {
      const bucketStart = Math.floor(record.startedAt / size) * size;
      const key = `${record.uid}|${granularity}|${bucketStart}`;
      let row = rows.get(key);
      if (!row) {
        row = { uid: record.uid, granularity, bucketStart, probes: 0, successes: 0, latencySumMs: 0, latencyMaxMs: 0, latencyBuckets: new Array<number>(LATENCY_BUCKET_COUNT).fill(0) };
        rows.set(key, row);
      }
      row.probes++;
      if (record.outcome.ok) {
        const ms = record.outcome.timings.totalMs;
        row.successes++;
        row.latencySumMs += ms;
        row.latencyMaxMs = Math.max(row.latencyMaxMs, ms);
        row.latencyBuckets[latencyBucket(ms)]!++;
      }
    }
  }
  return [...rows.values()].sort((a, b) =>
    a.uid !== b.uid ? (a.uid < b.uid ? -1 : 1) : a.granularity !== b.granularity ? (a.granularity < b.granularity ? -1 : 1) : a.bucketStart - b.bucketStart,
  );
}
