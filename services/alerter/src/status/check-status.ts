import type { V1Condition } from '@kubernetes/client-node';
import { READY_CONDITION, capMessage, deliveryOutcomeOf, type CheckEventType, type CheckState, type DeliveryStatus } from '@vigil/contracts';
import type { LastDelivery, UptimeCheckStatus } from '@vigil/k8s';

/** A check's current state as the prober last wrote it (vigil.checks). */
export interface CheckSnapshot {
  uid: string;
  namespace: string;
  name: string;
  generation: number;
  state: CheckState;
  stateSince: Date;
  code: number | null;
  latencyMs: number | null;
  reason: string | null;
  message: string | null;
  lastProbeAt: Date | null;
}

export type ReadyStatus = 'True' | 'False' | 'Unknown';

/** The Ready condition last written for a check (vigil.check_status_reports). */
export interface PreviousReady {
  status: ReadyStatus;
  since: Date;
}

const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/** RFC 3339 to the second, as Kubernetes writes times. */
export function k8sTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function readyStatusOf(state: CheckState): ReadyStatus {
  return state === 'up' ? 'True' : state === 'pending' ? 'Unknown' : 'False';
}

/**
 * The status fields the alerter applies for a snapshot (Server-Side Apply: a
 * field it applied before and leaves out now, such as `reason` once the check
 * is up, is removed). The Ready condition's
 * lastTransitionTime moves only when its status changes (down to paused keeps
 * it); when it changes, it is the moment the new state began.
 */
export function buildStatus(check: CheckSnapshot, previous: PreviousReady | null): { status: UptimeCheckStatus; ready: PreviousReady } {
  const readyStatus = readyStatusOf(check.state);
  const since = previous && previous.status === readyStatus ? previous.since : check.stateSince;
  const condition: V1Condition = {
    type: READY_CONDITION,
    status: readyStatus,
    reason: conditionReason(check),
    message: conditionMessage(check),
    lastTransitionTime: k8sTime(since) as unknown as Date,
    observedGeneration: check.generation,
  };
  const status: UptimeCheckStatus = {
    state: check.state,
    code: check.code ?? 0,
    since: k8sTime(check.stateSince),
    observedGeneration: check.generation,
    conditions: [condition],
    ...(check.latencyMs !== null ? { latencyMs: check.latencyMs } : {}),
    ...(check.lastProbeAt ? { lastProbeTime: k8sTime(check.lastProbeAt) } : {}),
    ...(check.state === 'down' && check.reason ? { reason: check.reason } : {}),
    ...(check.state === 'down' && check.message ? { message: capMessage(check.message) } : {}),
  };
  return { status, ready: { status: readyStatus, since } };
}

function conditionReason(check: CheckSnapshot): string {
  switch (check.state) {
    case 'up':
      return 'Up';
    case 'pending':
      return 'Pending';
    case 'paused':
      return 'Paused';
    case 'down':
      return check.reason && CONDITION_REASON.test(check.reason) ? check.reason : 'Down';
  }
}

function conditionMessage(check: CheckSnapshot): string {
  const http = check.code ? `HTTP ${check.code}` : 'no HTTP response';
  switch (check.state) {
    case 'up':
      return check.latencyMs !== null ? `${http} in ${check.latencyMs} ms` : http;
    case 'pending':
      return 'waiting for enough probe results to decide';
    case 'paused':
      return 'the check is paused';
    case 'down':
      return capMessage([check.reason, check.message].filter(Boolean).join(': ') || http);
  }
}

export interface DeliveryReport {
  id: string;
  eventType: CheckEventType;
  status: DeliveryStatus;
  attempts: number;
  updatedAt: Date;
}

export function lastDeliveryOf(d: DeliveryReport): LastDelivery {
  return {
    id: d.id,
    event: d.eventType,
    outcome: deliveryOutcomeOf(d.status),
    attempts: d.attempts,
    time: k8sTime(d.updatedAt),
  };
}
