import type { KubernetesObject, V1Condition, V1ObjectMeta } from '@kubernetes/client-node';
import type { CheckEventType, CheckState, DeliveryOutcome } from '@vigil/contracts';

// The vocabulary shared with Postgres and the other services is defined in
// @vigil/contracts; re-exported for users of the resource's types.
export type { CheckState, ProbeFailureReason } from '@vigil/contracts';

/** The UptimeCheck resource: `vigil.dev/v1alpha1`, plural `uptimechecks`, short name `uc`. */
export const UPTIME_CHECK = {
  group: 'vigil.dev',
  version: 'v1alpha1',
  apiVersion: 'vigil.dev/v1alpha1',
  kind: 'UptimeCheck',
  plural: 'uptimechecks',
  crdName: 'uptimechecks.vigil.dev',
} as const;

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

/** The spec as stored: the API server has filled in every default. */
export interface UptimeCheckSpec {
  url: string;
  method: HttpMethod;
  headers?: Record<string, string>;
  /** A Go duration string, 5s..24h. */
  interval: string;
  /** A Go duration string, less than interval. */
  timeout: string;
  expect: {
    /** Codes ("200") or inclusive ranges ("200-399"). */
    statusCodes: string[];
    bodyContains?: string;
  };
  failureThreshold: number;
  successThreshold: number;
  paused: boolean;
  /** Follow redirects from https to http (default false: the probe fails with InsecureRedirect). */
  allowInsecureRedirects?: boolean;
  statusPage: { publish: boolean; displayName?: string; group?: string };
}

export interface LastDelivery {
  id: string;
  event: CheckEventType;
  outcome: DeliveryOutcome;
  attempts: number;
  time: string;
}

export interface UptimeCheckStatus {
  state?: CheckState;
  code?: number;
  latencyMs?: number;
  since?: string;
  lastProbeTime?: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
  conditions?: V1Condition[];
  lastDelivery?: LastDelivery;
}

export interface UptimeCheck extends KubernetesObject {
  apiVersion: typeof UPTIME_CHECK.apiVersion;
  kind: typeof UPTIME_CHECK.kind;
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: UptimeCheckSpec;
  status?: UptimeCheckStatus;
}

export interface UptimeCheckList {
  apiVersion: string;
  kind: 'UptimeCheckList';
  metadata: { resourceVersion?: string; continue?: string };
  items: UptimeCheck[];
}

/** Inclusive status-code ranges from the spec's `expect.statusCodes`. */
export function parseStatusCodes(patterns: readonly string[]): Array<[number, number]> {
  return patterns.map((p) => {
    const match = /^([1-5]\d\d)(?:-([1-5]\d\d))?$/.exec(p);
    const low = Number(match?.[1]);
    const high = Number(match?.[2] ?? match?.[1]);
    if (!match || low > high) throw new Error(`invalid status code pattern ${JSON.stringify(p)}`);
    return [low, high];
  });
}
