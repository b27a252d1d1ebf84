import type { EgressFailureReason } from '@vigil/net-guard';

/** What one HTTP attempt produced. */
export interface AttemptResult {
  startedAt: Date;
  durationMs: number;
  /** Absent when no response arrived. */
  statusCode?: number;
  /** Why the attempt failed ("Timeout: ...", "HTTP 500", ...), as logged and stored; absent on success. */
  error?: string;
  /** Why no response arrived, when the request itself failed (the same words as a probe's reason). */
  reason?: EgressFailureReason;
  /** The first KiB of the response body. */
  excerpt?: string;
  /** From a Retry-After header on a 429 or 503, in milliseconds. */
  retryAfterMs?: number;
}

export type Decision =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: Date }
  | { status: 'dead' }
  | { status: 'disabled'; reason: string };

/** A Retry-After longer than this is cut to it, so a receiver cannot park a delivery for ever. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The fate of a delivery after its `attempt`-th attempt (1-based):
 * 2xx delivered; 410 disables the receiver; otherwise retried after
 * `schedule[attempt - 1]` (±20% jitter) or the receiver's Retry-After on a
 * 429/503, and dead once the schedule is used up.
 */
export function decide(attempt: number, result: AttemptResult, schedule: readonly number[], now: Date, random: () => number = Math.random): Decision {
  const code = result.statusCode;
  if (code !== undefined && code >= 200 && code < 300) return { status: 'delivered' };
  if (code === 410) return { status: 'disabled', reason: `answered 410 Gone at ${now.toISOString()}` };
  if (attempt > schedule.length) return { status: 'dead' };
  const honoured = (code === 429 || code === 503) && result.retryAfterMs !== undefined;
  const delay = honoured ? Math.min(result.retryAfterMs!, MAX_RETRY_AFTER_MS) : schedule[attempt - 1]! * (0.8 + 0.4 * random());
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + Math.round(delay)) };
}

/** Retry-After as delay-seconds or an HTTP date, in milliseconds from `now`; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP date always names its weekday and month; bare numbers that are not delay-seconds are garbage.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now.getTime());
}

/** The `result` label of the attempt-duration metric: the status class, or why no response came. */
export function resultClass(result: AttemptResult): string {
  if (result.statusCode !== undefined) return `${Math.floor(result.statusCode / 100)}xx`;
  if (result.reason === 'Timeout') return 'timeout';
  if (result.reason === 'Blocked') return 'blocked';
  return 'error';
}
