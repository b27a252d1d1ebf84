import { describe, expect, it } from '@jest/globals';
import { applyResult, type StateCounters } from './state-machine.js';

function run(start: StateCounters, results: boolean[], failureThreshold = 1, successThreshold = 1): string[] {
  let current = start;
  const states: string[] = [];
  for (const ok of results) {
    const next = applyResult(current, ok, { failureThreshold, successThreshold });
    states.push(next.changed ? `${current.state}→${next.state}` : next.state);
    current = next;
  }
  return states;
}

const pending: StateCounters = { state: 'pending', consecutiveFailures: 0, consecutiveSuccesses: 0 };

describe('applyResult', () => {
  it('moves pending to up or down on the first result with thresholds of 1', () => {
    expect(run(pending, [true, true, false, true])).toEqual(['pending→up', 'up', 'up→down', 'down→up']);
    expect(run(pending, [false])).toEqual(['pending→down']);
  });

  it('suppresses a blip shorter than the failure threshold', () => {
    const up: StateCounters = { state: 'up', consecutiveFailures: 0, consecutiveSuccesses: 5 };
    expect(run(up, [true, false, true, false, false, true], 3)).toEqual(['up', 'up', 'up', 'up', 'up', 'up']);
    expect(run(up, [false, false, false, true], 3)).toEqual(['up', 'up', 'up→down', 'down→up']);
  });

  it('needs successThreshold successes to come back up', () => {
    const down: StateCounters = { state: 'down', consecutiveFailures: 4, consecutiveSuccesses: 0 };
    expect(run(down, [true, false, true, true], 1, 2)).toEqual(['down', 'down', 'down', 'down→up']);
  });

  it('starts from the seeded state, so a fixed URL fires up from down', () => {
    const seeded: StateCounters = { state: 'down', consecutiveFailures: 0, consecutiveSuccesses: 0 };
    expect(run(seeded, [true])).toEqual(['down→up']);
    expect(run({ state: 'paused', consecutiveFailures: 0, consecutiveSuccesses: 0 }, [false])).toEqual(['paused→down']);
  });
});
