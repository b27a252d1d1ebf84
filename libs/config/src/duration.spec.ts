import { describe, expect, it } from '@jest/globals';
import { CRD_DURATION_PATTERN, DURATION_LIST_PATTERN, DURATION_PATTERN, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['5s', 5000],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['7d', 604_800_000],
    ['1d12h', 129_600_000],
    ['1m500ms', 60_500],
  ])('%s is %d ms', (raw, ms) => expect(parseDuration(raw)).toBe(ms));

  it.each(['', '5', 's', '5x', '1h 30m', '-5s', '1w', '.5s', '5s,', '5S'])('refuses %p', (raw) =>
    expect(() => parseDuration(raw)).toThrow(/expected a duration like 500ms, 30s, 5m, 1h30m or 7d/),
  );
});

describe('the patterns', () => {
  const samples = ['500ms', '1.5h', '7d', '1h30m', '', '5', '1h 30m', '-5s', '1w', 'd', '5ms5'];

  it('DURATION_PATTERN accepts exactly what parseDuration accepts', () => {
    const parses = (raw: string) => {
      try {
        parseDuration(raw);
        return true;
      } catch {
        return false;
      }
    };
    expect(samples.filter((raw) => new RegExp(DURATION_PATTERN).test(raw))).toEqual(samples.filter(parses));
  });

  it('the CRD pattern is the same grammar without days', () => {
    expect(new RegExp(CRD_DURATION_PATTERN).test('24h')).toBe(true);
    expect(new RegExp(CRD_DURATION_PATTERN).test('1d')).toBe(false);
    expect(CRD_DURATION_PATTERN).toBe(DURATION_PATTERN.replace('|d)', ')'));
  });

  it('DURATION_LIST_PATTERN is durations separated by commas', () => {
    expect(['5s,30s,2m', '1d', '1.5h,2d'].every((raw) => new RegExp(DURATION_LIST_PATTERN).test(raw))).toBe(true);
    expect(['5s,', ',5s', '5s 30s'].some((raw) => new RegExp(DURATION_LIST_PATTERN).test(raw))).toBe(false);
  });
});

describe('formatDuration', () => {
  it.each([
    [86_400_000, '24h'],
    [90_000, '90s'],
    [120_000, '2m'],
    [1500, '1500ms'],
  ])('%d ms is %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
