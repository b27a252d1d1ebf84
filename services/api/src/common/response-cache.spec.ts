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

  it('counts the TTL from when a load finishes, so a slow load is still reused', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const cache = new ResponseCache();
    let loads = 0;
    const slowLoad = () => new Promise<number>((resolve) => setTimeout(() => resolve(++loads), 3 * PUBLIC_CACHE_TTL_MS));
    const first = cache.get('k', slowLoad);
    await jest.advanceTimersByTimeAsync(3 * PUBLIC_CACHE_TTL_MS);
    expect(await first).toBe(1);
    expect(await cache.get('k', slowLoad)).toBe(1);
    jest.setSystemTime(Date.now() + PUBLIC_CACHE_TTL_MS);
    const third = cache.get('k', slowLoad);
    await jest.advanceTimersByTimeAsync(3 * PUBLIC_CACHE_TTL_MS);
    expect(await third).toBe(2);
  });

  it('does not keep a failed load', async () => {
    const cache = new ResponseCache();
    await expect(cache.get('k', () => Promise.reject(new Error('db down')))).rejects.toThrow('db down');
    expect(await cache.get('k', async () => 'recovered')).toBe('recovered');
  });

  it('loads every time when its TTL is 0 (cache off)', async () => {
    const cache = new ResponseCache(0);
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([cache.get('k', load), cache.get('k', load)])).toEqual([1, 2]);
    expect(await cache.get('k', load)).toBe(3);
  });
});
