import type { CheckState } from './states.js';

/** The webhook event types; the SQL CHECK on vigil.webhook_deliveries.event_type is tested against this list. */
export const CHECK_EVENT_TYPES = ['check.down', 'check.up'] as const;
export type CheckEventType = (typeof CHECK_EVENT_TYPES)[number];

/**
 * The event a transition into each state fires, or null for none. Keyed by
 * every state, so adding a state does not compile until it is decided here.
 */
export const EVENT_ON_ENTERING: { readonly [S in CheckState]: CheckEventType | null } = {
  up: 'check.up',
  down: 'check.down',
  pending: null,
  paused: null,
};

/** The webhook event a transition into `to` fires; transitions into pending or paused fire none. */
export function eventFor(to: CheckState): CheckEventType | null {
  return EVENT_ON_ENTERING[to];
}

export function isCheckEventType(value: unknown): value is CheckEventType {
  return typeof value === 'string' && (CHECK_EVENT_TYPES as readonly string[]).includes(value);
}
