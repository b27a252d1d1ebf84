import { eventFor, redactUrl } from '@vigil/contracts';
import type { Pool } from '@vigil/db';
import type { TransitionRecord } from '../types.js';

/**
 * Records a transition through vigil.record_transition (migration 0006), in
 * one statement: the check moves from `from` to `to` only if it is still in
 * `from` (a row that was deleted, or already moved by another replica after an
 * outage, is left alone), the probe's result is stored with the state, the
 * transition is logged with one outbox row per matching enabled receiver, and
 * NOTIFY vigil_transitions wakes the alerter at commit. Returns the
 * transition's id, or null when nothing was recorded. The URL is stored
 * redacted (redactUrl; a trigger on vigil.transitions does it again, and caps
 * the message: migration 0007).
 */
export async function recordTransition(pool: Pool, t: TransitionRecord): Promise<number | null> {
  const { rows } = await pool.query<{ transition_id: number }>(
    `SELECT transition_id FROM vigil.record_transition($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [t.uid, t.namespace, t.name, redactUrl(t.url), t.generation, t.from, t.to, new Date(t.at).toISOString(), t.code, t.latencyMs, t.reason, t.message, eventFor(t.to)],
  );
  return rows[0]?.transition_id ?? null;
}
