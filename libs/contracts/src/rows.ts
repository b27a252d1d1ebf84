import type { CheckEventType } from './events.js';
import type { DeliveryStatus } from './deliveries.js';
import type { CheckState } from './states.js';

// The shared tables' rows as `pg` returns them (bigint parsed to number by
// libs/db's pool). Each consumer reads a `Pick` of these, so a column's name or
// type is written down once. Owners per column: docs/contracts.md.

/** A vigil.checks row. */
export interface ChecksRow {
  uid: string;
  namespace: string;
  name: string;
  generation: number;
  labels: Record<string, string>;
  url: string;
  method: string;
  headers: Record<string, string>;
  interval_ms: number;
  timeout_ms: number;
  expect_status_codes: string[];
  expect_body_contains: string | null;
  failure_threshold: number;
  success_threshold: number;
  /** spec.allowInsecureRedirects (migration 0007). */
  allow_insecure_redirects: boolean;
  paused: boolean;
  publish: boolean;
  display_name: string | null;
  group_name: string | null;
  next_due_at: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  state: CheckState;
  state_since: Date;
  consecutive_failures: number;
  consecutive_successes: number;
  last_probe_at: Date | null;
  last_code: number | null;
  last_latency_ms: number | null;
  last_reason: string | null;
  last_message: string | null;
  created_at: Date;
  updated_at: Date;
  superseded: boolean;
}

/** The columns of vigil.checks the watcher owns (mirrored from the UptimeCheck), in the order vigil.upsert_checks() takes them. */
export const WATCHER_COLUMNS = [
  'uid',
  'namespace',
  'name',
  'generation',
  'labels',
  'url',
  'method',
  'headers',
  'interval_ms',
  'timeout_ms',
  'expect_status_codes',
  'expect_body_contains',
  'failure_threshold',
  'success_threshold',
  'paused',
  'publish',
  'display_name',
  'group_name',
  'allow_insecure_redirects',
] as const;
export type WatcherColumn = (typeof WATCHER_COLUMNS)[number];

/**
 * One element of vigil.upsert_checks()' jsonb array: the watcher-owned columns,
 * plus the state a new row starts in (the object's status.state, so transition
 * detection starts from the prior state); ignored for an existing row.
 */
export type CheckUpsert = Pick<ChecksRow, WatcherColumn> & {
  seed_state: CheckState | null;
  seed_state_since: string | null;
};

/**
 * The row a spec with every optional field left out maps to: the CRD's
 * defaults (filled in by the API server) as watcher-owned columns, and the
 * state a new row starts in. Seeds spread it and set what they test.
 */
export const CHECK_ROW_DEFAULTS: Readonly<Omit<CheckUpsert, 'uid' | 'namespace' | 'name' | 'url'>> = {
  generation: 1,
  labels: {},
  method: 'GET',
  headers: {},
  interval_ms: 30_000,
  timeout_ms: 10_000,
  expect_status_codes: ['200-399'],
  expect_body_contains: null,
  failure_threshold: 1,
  success_threshold: 1,
  paused: false,
  publish: true,
  display_name: null,
  group_name: null,
  allow_insecure_redirects: false,
  seed_state: null,
  seed_state_since: null,
};

/** What a prober needs of a checks row to probe it and judge the result. */
export type ProbeSpecColumn = Exclude<WatcherColumn, 'paused' | 'publish' | 'display_name' | 'group_name'>;

/** A vigil.transitions row. */
export interface TransitionsRow {
  id: number;
  check_uid: string;
  namespace: string;
  name: string;
  url: string;
  generation: number;
  from_state: CheckState;
  to_state: CheckState;
  at: Date;
  code: number;
  latency_ms: number | null;
  reason: string | null;
  message: string | null;
  status_applied_at: Date | null;
  created_at: Date;
}

/** A vigil.webhook_deliveries row (the outbox). */
export interface WebhookDeliveriesRow {
  /** The webhook-id (WEBHOOK_ID_PATTERN). */
  id: string;
  transition_id: number;
  receiver: string;
  event_type: CheckEventType;
  payload: unknown;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: Date;
  locked_by: string | null;
  locked_until: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
  report_pending: boolean;
}

type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}` ? `${Head}${Capitalize<CamelCase<Tail>>}` : S;

/** A row type with camelCase keys (`interval_ms` → `intervalMs`), for domain objects mapped from rows. */
export type Camelized<T> = { [K in keyof T as CamelCase<K & string>]: T[K] };
