import type { CheckState } from '@vigil/contracts';

export type { CheckState };

export interface StateCounters {
  state: CheckState;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
}

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

/**
 * Applies one probe result. A check goes down after `failureThreshold`
 * consecutive failures and up after `successThreshold` consecutive successes,
 * from whatever state it was in (seeded from the checks row, so a check that
 * was down before an edit comes back up with a transition). Returns the new
 * counters and state; `changed` marks a transition.
 */
export function applyResult(prev: StateCounters, ok: boolean, thresholds: Thresholds): StateCounters & { changed: boolean } {
  const consecutiveFailures = ok ? 0 : prev.consecutiveFailures + 1;
  const consecutiveSuccesses = ok ? prev.consecutiveSuccesses + 1 : 0;
  let state = prev.state;
  if (!ok && prev.state !== 'down' && consecutiveFailures >= thresholds.failureThreshold) state = 'down';
  if (ok && prev.state !== 'up' && consecutiveSuccesses >= thresholds.successThreshold) state = 'up';
  return { state, consecutiveFailures, consecutiveSuccesses, changed: state !== prev.state };
}
