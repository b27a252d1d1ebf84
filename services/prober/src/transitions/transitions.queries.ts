import type { PoolClient } from '@vigil/db';
import type { TransitionRecord } from '../types.js';

export interface WebhookPayload {
  type: 'check.up' | 'check.down';
  timestamp: string;
  data: {
    check: { namespace: string; name: string; uid: string; url: string };
    from: string;
    to: string;
    since: string;
    code: number;
    latencyMs: number | null;
    reason: string | null;
    message: string | null;
  };
}

/** The Standard Webhooks body of a transition (DESIGN.md, Webhooks). */
export function webhookPayload(t: TransitionRecord, event: 'check.up' | 'check.down'): WebhookPayload {
  const at = new Date(t.at).toISOString();
  return {
    type: event,
    timestamp: at,
    data: {
      check: { namespace: t.namespace, name: t.name, uid: t.uid, url: t.url },
      from: t.from,
      to: t.to,
      since: at,
      code: t.code,
      latencyMs: t.latencyMs,
      reason: t.reason,
      message: t.message,
    },
  };
}

/**
 * Moves the row from `from` to `to` only if it is still in `from`: a row that
 * was deleted, or already moved by another replica (a slot probed twice after
 * an outage), is left alone and no transition is recorded. The probe's result
 * is stored with the state, so a reader woken by the NOTIFY sees both. Returns
 * the row's labels when it moved.
 */
export async function setCheckState(client: PoolClient, t: TransitionRecord): Promise<{ labels: Record<string, string> } | null> {
  const { rows } = await client.query<{ labels: Record<string, string> }>(
    `UPDATE vigil.checks SET
       state = $2,
       state_since = $3::timestamptz,
       last_probe_at = greatest(last_probe_at, $3),
       last_code = CASE WHEN last_probe_at IS NULL OR last_probe_at <= $3 THEN $5 ELSE last_code END,
       last_latency_ms = CASE WHEN last_probe_at IS NULL OR last_probe_at <= $3 THEN $6 ELSE last_latency_ms END,
       last_reason = CASE WHEN last_probe_at IS NULL OR last_probe_at <= $3 THEN $7 ELSE last_reason END,
       last_message = CASE WHEN last_probe_at IS NULL OR last_probe_at <= $3 THEN $8 ELSE last_message END,
       updated_at = now()
     WHERE uid = $1 AND state = $4
     RETURNING labels`,
    [t.uid, t.to, new Date(t.at).toISOString(), t.from, t.code, t.latencyMs, t.reason, t.message],
  );
  return rows[0] ?? null;
}

export async function insertTransition(client: PoolClient, t: TransitionRecord): Promise<number> {
  const { rows } = await client.query<{ id: number }>(
    `INSERT INTO vigil.transitions (check_uid, namespace, name, url, generation, from_state, to_state, at, code, latency_ms, reason, message)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     RETURNING id`,
    [t.uid, t.namespace, t.name, t.url, t.generation, t.from, t.to, new Date(t.at).toISOString(), t.code, t.latencyMs, t.reason, t.message],
  );
  return rows[0]!.id;
}

/**
 * The outbox: one delivery per enabled receiver whose namespaces (empty: all)
 * include the check's, whose match_labels the check's labels contain, and
 * whose events include this one. Each gets a fresh webhook-id.
 */
export async function insertDeliveries(
  client: PoolClient,
  transitionId: number,
  t: TransitionRecord,
  labels: Record<string, string>,
  event: 'check.up' | 'check.down',
  payload: WebhookPayload,
): Promise<number> {
  const result = await client.query(
    `INSERT INTO vigil.webhook_deliveries (id, transition_id, receiver, event_type, payload)
     SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, r.name, $2, $3::jsonb
     FROM vigil.webhook_receivers r
     WHERE r.enabled
       AND (cardinality(r.namespaces) = 0 OR $4 = ANY(r.namespaces))
       AND $5::jsonb @> r.match_labels
       AND $2 = ANY(r.events)
     ORDER BY r.name`,
    [transitionId, event, JSON.stringify(payload), t.namespace, JSON.stringify(labels)],
  );
  return result.rowCount ?? 0;
}

export async function notifyTransition(client: PoolClient, transitionId: number): Promise<void> {
  await client.query(`SELECT pg_notify('vigil_transitions', $1)`, [String(transitionId)]);
}
