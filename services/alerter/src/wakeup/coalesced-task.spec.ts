import { describe, expect, it } from '@jest/globals';
import { Backoff } from '@vigil/db';
import type { Logger } from '@vigil/service-runtime';
import { CoalescedTask } from './coalesced-task.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('CoalescedTask', () => {
  it('collapses a burst of nudges during a run into one more run', async () => {
    const gates = [deferred(), deferred()];
    let runs = 0;
    const task = new CoalescedTask(async () => {
      await gates[runs++]!.promise;
    }, () => {});
    task.nudge();
    for (let i = 0; i < 100; i++) task.nudge();
    gates[0]!.resolve();
    gates[1]!.resolve();
    await new Promise((r) => setTimeout(r, 10));
    await task.stop();
    expect(runs).toBe(2);
  });

  it('keeps running after a failing run and reports the error', async () => {
    const errors: unknown[] = [];
    let runs = 0;
    const task = new CoalescedTask(async () => {
      runs++;
      if (runs === 1) throw new Error('boom');
    }, (err) => errors.push(err));
    task.nudge();
    await new Promise((r) => setImmediate(r));
    task.nudge();
    await task.stop();
    expect(runs).toBe(2);
    expect(errors).toEqual([new Error('boom')]);
  });

  it('runs at the earliest requested time, and not after stop', async () => {
    let runs = 0;
    const task = new CoalescedTask(async () => void runs++, () => {});
    task.runAt(Date.now() + 10_000);
    task.runAt(Date.now() + 20);
    await new Promise((r) => setTimeout(r, 80));
    expect(runs).toBe(1);
    task.runAt(Date.now() + 20);
    await task.stop();
    await new Promise((r) => setTimeout(r, 60));
    expect(runs).toBe(1);
  });

  it('runs again after a backoff delay when a run failed transiently, and waits for a nudge otherwise', async () => {
    const lines: string[] = [];
    const logger = { warn: (_: unknown, msg: string) => lines.push(`warn ${msg}`), error: (_: unknown, msg: string) => lines.push(`error ${msg}`) } as unknown as Logger;
    const backoff = new Backoff({ initialMs: 20, maxMs: 20, random: () => 0 });
    const failures = [new Error('Connection terminated unexpectedly'), Object.assign(new Error('syntax error'), { code: '42601' })];
    let runs = 0;
    const task: CoalescedTask = new CoalescedTask(
      async () => {
        const failure = failures[runs++];
        if (failure) throw failure;
      },
      (err) => task.retryIfTransient(err, backoff, logger, 'the round'),
    );
    task.nudge();
    await new Promise((r) => setTimeout(r, 60));
    // The transient failure was retried on its own; the permanent one was not.
    expect(runs).toBe(2);
    expect(lines).toEqual(['warn the round failed; retrying', 'error the round failed']);
    task.nudge();
    await task.stop();
    expect(runs).toBe(3);
  });
});

