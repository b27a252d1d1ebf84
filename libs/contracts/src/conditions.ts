// The UptimeCheck's status conditions and who writes them. Each writer owns
// its condition types through its own Server-Side Apply field manager, so one
// writer's apply never removes another's condition (the CRD's conditions list
// is a map keyed by `type`). docs/contracts.md ("Status conditions").

/** The alerter's condition: the check's probe verdict. */
export const READY_CONDITION = 'Ready';

/**
 * The watcher's condition: whether the object's spec reached `vigil.checks`
 * as written. Absent when it did; `False` when the watcher cannot store it;
 * `True` with reason `TimeoutCapped` when it is stored with a changed value.
 */
export const STORED_CONDITION = 'Stored';

/** Reasons of the `Stored` condition; the watcher's Warning Events use the same words. */
export const STORED_REASONS = {
  /** Postgres refused the row (e.g. a NUL character, or another constraint): the object is isolated, the rest keeps flowing. */
  refused: 'StoreRefused',
  /** The spec breaks a rule the CRD should have enforced (an object older than the CRD's validation). */
  invalid: 'InvalidSpec',
  /** spec.timeout is above MAX_TIMEOUT_MS (an object older than the CRD's cap): stored with the cap. */
  timeoutCapped: 'TimeoutCapped',
} as const;
export type StoredReason = (typeof STORED_REASONS)[keyof typeof STORED_REASONS];

/** The longest probe timeout any check gets (the CRD refuses more; the watcher caps older objects; the prober clamps whatever a row says). */
export const MAX_TIMEOUT_MS = 60_000;

/** Server-Side Apply field managers, one per writer of an UptimeCheck's status. */
export const FIELD_MANAGERS = {
  /** The `Stored` condition. */
  watcher: 'vigil-watcher',
  /** state, code, latency, times, reason, message, observedGeneration and the `Ready` condition. */
  alerter: 'vigil-alerter',
  /** status.lastDelivery (a separate manager, so a delivery report does not drop the fields above). */
  alerterDelivery: 'vigil-alerter-delivery',
} as const;

/** Kubernetes' limit on a condition message is 32768; Vigil keeps them short enough to read in `kubectl describe`. */
export const CONDITION_MESSAGE_MAX = 1024;
