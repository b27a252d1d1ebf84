// Test and bench support: what the watcher and the prober write, through the
// same SQL functions they call (migration 0006), so the alerter is exercised
// against the contract writes themselves: a change to them reaches these suites.
import { randomUUID } from 'node:crypto';
import { CHECK_ROW_DEFAULTS, eventFor, webhookPayloadOf, type CheckState, type CheckUpsert, type CheckWebhookPayload } from '@vigil/contracts';
import type { Pool } from '@vigil/db';

export interface TestCheck {
  uid: string;
  namespace: string;
  name: string;
  url: string;
  generation: number;
}

/** A vigil.checks row as the watcher writes it (vigil.upsert_checks), starting in `state` (default up). */
export async function insertCheck(pool: Pool, fields: Partial<TestCheck> & { name: string; state?: CheckState; labels?: Record<string, string> }): Promise<TestCheck> {
  const { state = 'up', labels = {}, ...rest } = fields;
  const check: TestCheck = { uid: randomUUID(), namespace: 'default', url: `https://${fields.name}.example.com/health`, generation: 1, ...rest };
  const row: CheckUpsert = { ...CHECK_ROW_DEFAULTS, ...check, labels, seed_state: state };
  await pool.query(`SELECT * FROM vigil.upsert_checks($1::jsonb)`, [JSON.stringify([row])]);
  return check;
}

export interface TransitionInput {
  from: CheckState;
  to: CheckState;
  code?: number;
  latencyMs?: number;
  reason?: string | null;
  message?: string | null;
  /**
   * Receivers that get a delivery row; none when absent. `matching`: every
   * enabled receiver whose namespaces, labels and events match, chosen by
   * vigil.matching_receivers as the prober does.
   */
  receivers?: string[] | 'matching';
  at?: Date;
}

export interface InsertedTransition {
  id: number;
  /** The webhook-ids, in the order of `receivers` (empty for `matching`). */
  deliveryIds: string[];
  /** Receiver name → webhook-id of every delivery row written. */
  deliveries: Record<string, string>;
  /** The body every receiver must get, as the contract (@vigil/contracts) defines it; null when the transition fires no event. */
  payload: CheckWebhookPayload | null;
}

/**
 * The prober's write for a state change, vigil.record_transition: the check's
 * state columns, a transitions row, one outbox row per receiver, and NOTIFY
 * vigil_transitions. Throws when the check is not in `from`, where the
 * prober would have recorded nothing.
 */
export async function insertTransition(pool: Pool, check: TestCheck, input: TransitionInput): Promise<InsertedTransition> {
  const at = input.at ?? new Date();
  const code = input.code ?? (input.to === 'up' ? 200 : 0);
  const latencyMs = input.latencyMs ?? 42;
  const reason = input.reason ?? (input.to === 'down' ? 'ConnectionRefused' : null);
  const message = input.message ?? (input.to === 'down' ? 'connect ECONNREFUSED 10.0.0.1:443' : null);
  const event = eventFor(input.to);
  const routed = input.receivers ?? [];
  const { rows } = await pool.query<{ transition_id: number; deliveries: Record<string, string> }>(
    `SELECT transition_id, deliveries FROM vigil.record_transition($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [check.uid, check.namespace, check.name, check.url, check.generation, input.from, input.to, at, code, latencyMs, reason, message, event, routed === 'matching' ? null : routed],
  );
  if (rows.length === 0) throw new Error(`${check.namespace}/${check.name} is not in state ${input.from}: no transition recorded`);
  const { transition_id: id, deliveries } = rows[0]!;
  const payload = event && webhookPayloadOf({ ...check, from: input.from, to: input.to, at, code, latencyMs, reason, message }, event);
  return { id, deliveryIds: routed === 'matching' ? [] : routed.map((r) => deliveries[r]!), deliveries, payload };
}

export interface AttemptRow {
  attempt: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
  alerter: string | null;
  started_at: Date;
  duration_ms: number;
}

export async function attemptsOf(pool: Pool, deliveryId: string): Promise<AttemptRow[]> {
  const { rows } = await pool.query<AttemptRow>(
    `SELECT attempt, status_code, error, response_excerpt, alerter, started_at, duration_ms FROM vigil.webhook_attempts WHERE delivery_id = $1 ORDER BY id`,
    [deliveryId],
  );
  return rows;
}

export interface DeliveryRow {
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  delivered_at: Date | null;
  next_attempt_at: Date;
  locked_by: string | null;
}

export async function deliveryOf(pool: Pool, deliveryId: string): Promise<DeliveryRow> {
  const { rows } = await pool.query<DeliveryRow>(
    `SELECT status, attempts, last_status_code, last_error, delivered_at, next_attempt_at, locked_by FROM vigil.webhook_deliveries WHERE id = $1`,
    [deliveryId],
  );
  return rows[0]!;
}
