/** Every state a check can be in; the SQL CHECK and the CRD enum are tested against this list. */
export const CHECK_STATES = ['pending', 'up', 'down', 'paused'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

export function isCheckState(value: unknown): value is CheckState {
  return typeof value === 'string' && (CHECK_STATES as readonly string[]).includes(value);
}
