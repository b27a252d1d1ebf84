import { describe, expect, it } from '@jest/globals';
import { MAX_RETRY_AFTER_MS, decide, parseRetryAfter, resultClass, type AttemptResult } from './outcome.js';

const now = new Date('2026-06-06T22:41:07Z');
const schedule = [5_000, 300_000, 1_800_000];
const result = (statusCode?: number, extra: Partial<AttemptResult> = {}): AttemptResult => ({ startedAt: now, durationMs: 12, statusCode, ...extra });
const at = (ms: number) => new Date(now.getTime() + ms);

describe('decide', () => {
  it('delivers on any 2xx', () => {
    for (const code of [200, 201, 202, 204, 299]) expect(decide(1, result(code), schedule, now)).toEqual({ status: 'delivered' });
  });

  it('disables the receiver on 410 Gone, even on the last attempt', () => {
    expect(decide(4, result(410), schedule, now)).toEqual({ status: 'disabled', reason: 'answered 410 Gone at 2026-06-06T22:41:07.000Z' });
  });

  it('retries failures on the schedule with ±20% jitter, redirects included', () => {
    for (const code of [undefined, 301, 302, 400, 404, 500, 502]) {
      expect(decide(1, result(code), schedule, now, () => 0.5)).toEqual({ status: 'pending', nextAttemptAt: at(5_000) });
    }
    expect(decide(2, result(500), schedule, now, () => 0)).toEqual({ status: 'pending', nextAttemptAt: at(240_000) });
    expect(decide(3, result(500), schedule, now, () => 0.75)).toEqual({ status: 'pending', nextAttemptAt: at(1_980_000) });
  });

  it('is dead after the last scheduled retry fails', () => {
    expect(decide(4, result(500), schedule, now)).toEqual({ status: 'dead' });
    expect(decide(1, result(500), [], now)).toEqual({ status: 'dead' });
  });

  it('honours Retry-After on 429 and 503 exactly, capped at a day; ignores it elsewhere', () => {
    expect(decide(1, result(429, { retryAfterMs: 42_000 }), schedule, now)).toEqual({ status: 'pending', nextAttemptAt: at(42_000) });
    expect(decide(1, result(503, { retryAfterMs: 1_000 }), schedule, now)).toEqual({ status: 'pending', nextAttemptAt: at(1_000) });
    expect(decide(1, result(429, { retryAfterMs: 7 * MAX_RETRY_AFTER_MS }), schedule, now)).toEqual({ status: 'pending', nextAttemptAt: at(MAX_RETRY_AFTER_MS) });
    expect(decide(1, result(500, { retryAfterMs: 42_000 }), schedule, now, () => 0.5)).toEqual({ status: 'pending', nextAttemptAt: at(5_000) });
    expect(decide(4, result(429, { retryAfterMs: 1_000 }), schedule, now)).toEqual({ status: 'dead' });
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Sat, 06 Jun 2026 22:42:07 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sat, 06 Jun 2026 22:40:07 GMT', now)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('resultClass', () => {
  it('is the status class when a response came, else the typed reason, never parsed from the text', () => {
    expect(resultClass(result(503, { error: 'HTTP 503' }))).toBe('5xx');
    expect(resultClass(result(302, { error: 'Redirect: HTTP 302 (redirects are not followed)' }))).toBe('3xx');
    expect(resultClass(result(undefined, { reason: 'Timeout', error: 'Timeout: no response within 3000 ms' }))).toBe('timeout');
    expect(resultClass(result(undefined, { reason: 'Blocked', error: 'Blocked: 127.0.0.2 is a blocked address (SSRF guard)' }))).toBe('blocked');
    expect(resultClass(result(undefined, { reason: 'ConnectionRefused', error: 'ConnectionRefused: connect ECONNREFUSED' }))).toBe('error');
    expect(resultClass(result(undefined, { error: 'Timeout-looking text without a reason' }))).toBe('error');
  });
});
