import { describe, expect, it } from '@jest/globals';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('lets a burst through at once, then paces takes at the rate', async () => {
    const bucket = new TokenBucket(50, 5);
    const started = performance.now();
    const times: number[] = [];
    await Promise.all(Array.from({ length: 15 }, () => bucket.take().then(() => times.push(performance.now() - started))));
    times.sort((a, b) => a - b);
    expect(times[4]!).toBeLessThan(15);
    // The other 10 need 10 tokens at 50/s: about 200 ms, never less.
    expect(times[14]!).toBeGreaterThanOrEqual(195);
  });

  it('reports how long a take waited', async () => {
    const bucket = new TokenBucket(20, 1);
    expect(await bucket.take()).toBeLessThan(10);
    expect(await bucket.take()).toBeGreaterThanOrEqual(45);
  });

  it('rejects waiting takes when aborted', async () => {
    const bucket = new TokenBucket(1, 1);
    await bucket.take();
    const abort = new AbortController();
    const waiting = bucket.take(abort.signal);
    abort.abort(new Error('stopping'));
    await expect(waiting).rejects.toThrow('stopping');
  });
});
