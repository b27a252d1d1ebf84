// Test and bench support: what the watcher and the prober write, done directly
// in SQL, so the alerter is exercised against the contract tables alone.
import { randomUUID } from 'node:crypto';
import type { CheckWebhookPayload } from '@vigil/contracts';
import type { Pool } from '@vigil/db';

export interface TestCheck {
  uid: string;
  namespace: string;
  name: string;
  url: string;
  generation: number;
}

/** A vigil.checks row as the watcher inserts it (state pending). */
export async function insertCheck(pool: Pool, fields: Partial<TestCheck> & { name: string }): Promise<TestCheck> {
  const check: TestCheck = { uid: randomUUID(), namespace: 'default', url: `https://${fields.name}.example.com/health`, generation: 1, ...fields };
  await pool.query(
    `INSERT INTO vigil.checks (uid, namespace, name, generation, url, interval_ms, timeout_ms) VALUES ($1, $2, $3, $4, $5, 30000, 10000)`,
    [check.uid, check.namespace, check.name, check.generation, check.url],
  );
  return check;
}

export interface TransitionInput {
  from: 'up' | 'down' | 'pending' | 'paused';
  to: 'up' | 'down' | 'pending' | 'paused';
  code?: number;
  latencyMs?: number;
  reason?: string | null;
  message?: string | null;
  /** Receivers that get a delivery row (the prober's fan-out). */
  receivers?: string[];
  at?: Date;
}

export interface InsertedTransition {
  id: number;
  deliveryIds: string[];
  payload: CheckWebhookPayload;
}

/**
 * The prober's transaction for a state change: the check's state columns, a
 * transitions row, one outbox row per receiver, and NOTIFY vigil_transitions.
 */
export async function insertTransition(pool: Pool, check: TestCheck, input: TransitionInput): Promise<InsertedTransition> {
  const at = input.at ?? new Date();
  const code = input.code ?? (input.to === 'up' ? 200 : 0);
  const latencyMs = input.latencyMs ?? 42;
  const reason = input.reason ?? (input.to === 'down' ? 'ConnectionRefused' : null);
  const message = input.message ?? (input.to === 'down' ? 'connect ECONNREFUSED 10.0.0.1:443' : null);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `UPDATE vigil.checks SET state = $2, state_since = $3, last_code = $4, last_latency_ms = $5, last_reason = $6, last_message = $7,
              last_probe_at = $3, updated_at = now() WHERE uid = $1`,
      [check.uid, input.to, at, code, latencyMs, reason, message],
    );
    const { rows } = await client.query<{ id: number }>(
      `INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
      [check.uid, check.namespace, check.name, check.url, check.generation, input.from, input.to, at, code, latencyMs, reason, message],
    );
    const id = rows[0]!.id;
    const payload: CheckWebhookPayload = {
      type: input.to === 'down' ? 'check.down' : 'check.up',
      timestamp: at.toISOString(),
      data: {
        check: { namespace: check.namespace, name: check.name, uid: check.uid, url: check.url },
        from: input.from,
        to: input.to,
        since: at.toISOString(),
        code,
        latencyMs,
        reason,
        message,
      },
    };
    const deliveryIds: string[] = [];
    for (const receiver of input.receivers ?? []) {
      const deliveryId = `msg_${randomUUID().replace(/-/g, '')}`;
      await client.query(
        `INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload) VALUES ($1, $2, $3, $4, $5)`,
        [deliveryId, id, receiver, payload.type, JSON.stringify(payload)],
      );
      deliveryIds.push(deliveryId);
    }
    await client.query(`SELECT pg_notify('vigil_transitions', $1)`, [String(id)]);
    await client.query('COMMIT');
    return { id, deliveryIds, payload };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
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
