/**
 * The LISTEN/NOTIFY channels between services. A notification only wakes a
 * reader (its payload is at most an id); the tables are the truth.
 */
export const CHANNELS = {
  /** watcher → probers: a check was added, changed or removed. */
  checks: 'vigil_checks',
  /** prober → alerter: a transition and its outbox rows were committed. */
  transitions: 'vigil_transitions',
  /** prober → alerter: a batch of results moved some check's current state. */
  status: 'vigil_status',
} as const;

export type Channel = (typeof CHANNELS)[keyof typeof CHANNELS];
