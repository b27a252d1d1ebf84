import { describe, expect, it } from '@jest/globals';
import { DecisionCache, FailureLimiter, hashKey } from './decision-cache.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hashKey', () => {
  it('is a SHA-256 of the parts, never the parts themselves', () => {
    const key = hashKey('secret-token');
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(key).not.toContain('secret');
    expect(hashKey('a', 'b')).not.toBe(hashKey('ab'));
  });
});

describe('DecisionCache', () => {
  const cache = (positiveTtlMs: number, negativeTtlMs: number, max = 10) => new DecisionCache<boolean>({ max, positiveTtlMs, negativeTtlMs, isPositive: (v) => v });

  it('keeps a yes for the positive TTL and a no for the negative TTL', async () => {
    const c = cache(200, 40);
    await c.decide('yes', async () => true);
    await c.decide('no', async () => false);
    expect([c.get('yes'), c.get('no')]).toEqual([true, false]);
    await sleep(80);
    expect([c.get('yes'), c.get('no')]).toEqual([true, undefined]);
    await sleep(160);
    expect(c.get('yes')).toBeUndefined();
  });

  it('caches nothing with a TTL of 0, and never a failure', async () => {
    const c = cache(0, 0);
    await c.decide('k', async () => true);
    expect(c.get('k')).toBeUndefined();
    const d = cache(1000, 1000);
    await expect(d.decide('k', async () => Promise.reject(new Error('apiserver down')))).rejects.toThrow('apiserver down');
    expect(d.get('k')).toBeUndefined();
  });

  it('asks once for concurrent lookups of one key', async () => {
    const c = cache(1000, 1000);
    let calls = 0;
    const decide = async () => {
      calls++;
      await sleep(20);
      return true;
    };
    expect(await Promise.all([c.decide('k', decide), c.decide('k', decide), c.decide('k', decide)])).toEqual([true, true, true]);
    expect(calls).toBe(1);
  });

  it('is bounded: the least recently used entry goes first', async () => {
    const c = cache(1000, 1000, 2);
    await c.decide('a', async () => true);
    await c.decide('b', async () => true);
    c.get('a');
    await c.decide('c', async () => true);
    expect([c.get('a'), c.get('b'), c.get('c'), c.size]).toEqual([true, undefined, true, 2]);
  });
});

describe('FailureLimiter', () => {
  it('blocks a client after `limit` failures until its window ends, and no one else', async () => {
    const limiter = new FailureLimiter({ limit: 2, windowMs: 150, max: 10 });
    limiter.recordFailure('a');
    expect(limiter.blockedForMs('a')).toBe(0);
    await sleep(50);
    limiter.recordFailure('a');
    const wait = limiter.blockedForMs('a');
    // The window runs from the first failure: the second did not extend it.
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(110);
    expect(limiter.blockedForMs('b')).toBe(0);
    await sleep(wait + 20);
    expect(limiter.blockedForMs('a')).toBe(0);
  });
});
