import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { PUBLIC_CACHE_TTL_MS, ResponseCache } from './response-cache.js';

afterEach(() => {
  jest.useRealTimers();
});

describe('ResponseCache', () => {
  it('shares one load between concurrent and repeated requests until the TTL passes', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const cache = new ResponseCache();
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 1]);
    expect(await cache.get('k', load)).toBe(1);
    expect(await cache.get('other', load)).toBe(2);
    jest.setSystemTime(1_000_000 + PUBLIC_CACHE_TTL_MS);
    expect(await cache.get('k', load)).toBe(3);
  });

  it('does not keep a failed load', async () => {
    const cache = new ResponseCache();
    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('k', async () => 'recovered')).toBe('recovered');
  });
});
