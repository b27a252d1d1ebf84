import { describe, expect, it } from '@jest/globals';
import { Backoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles up to the cap, with every delay between half and all of its step', () => {
    const low = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 0 });
    expect([1, 2, 3, 4, 5].map(() => low.next())).toEqual([500, 1000, 2000, 4000, 4000]);
    const high = new Backoff({ initialMs: 1000, maxMs: 8000, random: () => 0.999999 });
    expect([1, 2, 3, 4, 5].map(() => high.next())).toEqual([1000, 2000, 4000, 8000, 8000]);
  });

  it('starts over after reset', () => {
    const b = new Backoff({ initialMs: 200, maxMs: 10_000, random: () => 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });

  it('spreads replicas apart', () => {
    const delays = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 1000, maxMs: 30_000 }).next()));
    expect(delays.size).toBeGreaterThan(10);
  });
});
