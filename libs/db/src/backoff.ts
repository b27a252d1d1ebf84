import { setTimeout as sleep } from 'node:timers/promises';

export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Source of randomness in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": each delay is half the current step
 * plus a random share of the other half, so a fleet of replicas that lost the
 * same server never retries in lockstep, and no delay is ever near zero. The
 * one retry schedule of every service.
 */
export class Backoff {
  private step: number;
  private readonly random: () => number;

  constructor(private readonly options: BackoffOptions) {
    this.step = options.initialMs;
    this.random = options.random ?? Math.random;
  }

  /** The next delay; each call doubles the step up to maxMs. */
  next(): number {
    const step = this.step;
    this.step = Math.min(this.step * 2, this.options.maxMs);
    return Math.round(step / 2 + this.random() * (step / 2));
  }

  reset(): void {
    this.step = this.options.initialMs;
  }

  /** Waits the next delay; resolves early (without throwing) when `signal` aborts. */
  async wait(signal: AbortSignal): Promise<void> {
    await pause(this.next(), signal);
  }
}

/** Sleeps `ms`, ending early without throwing when `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  await sleep(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}
