/**
 * Every state a check can be in, in the order the api lists them. This list is the one definition: the SQL
 * CHECK on vigil.checks.state and the CRD's status.state enum are tested
 * against it (libs/db/src/contracts.int-spec.ts), and `EVENT_ON_ENTERING`
 * must name an event (or none) for each, so a new state (say `degraded` or
 * `maintenance`) is added here and the compiler and that test list every other
 * place that has to follow.
 */
export const CHECK_STATES = ['up', 'down', 'pending', 'paused'] as const;
export type CheckState = (typeof CHECK_STATES)[number];

export function isCheckState(value: unknown): value is CheckState {
  return typeof value === 'string' && (CHECK_STATES as readonly string[]).includes(value);
}
