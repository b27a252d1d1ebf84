import type { CheckEventType } from './events.js';
import { capMessage, redactUrl } from './redaction.js';
import type { CheckState } from './states.js';

/**
 * The body of every Vigil webhook (Standard Webhooks), built in SQL by
 * vigil.webhook_payload() when a transition's outbox rows are written
 * (migration 0006); the alerter sends the stored bytes unchanged on every
 * attempt. docs/contracts.md, "Webhooks".
 */
export interface CheckWebhookPayload {
  type: CheckEventType;
  /** When the event happened (the transition time), ISO 8601 with milliseconds, UTC. */
  timestamp: string;
  data: {
    check: { namespace: string; name: string; uid: string; url: string };
    from: CheckState;
    to: CheckState;
    /** When the new state began (equal to `timestamp`), ISO 8601. */
    since: string;
    /** The HTTP status code of the probe that caused the transition, 0 without a response. */
    code: number;
    latencyMs: number | null;
    reason: string | null;
    message: string | null;
  };
}

/**
 * The `webhook-id` of a delivery: `msg_` and 32 lowercase hex digits (a random
 * UUID's, without dashes), the same on every retry. Generated only in SQL, by
 * vigil.new_webhook_id(), when the outbox row is written.
 */
export const WEBHOOK_ID_PATTERN = /^msg_[0-9a-f]{32}$/;

export function isWebhookId(value: unknown): value is string {
  return typeof value === 'string' && WEBHOOK_ID_PATTERN.test(value);
}

/** What a webhook says about its transition. */
export interface TransitionFacts {
  uid: string;
  namespace: string;
  name: string;
  url: string;
  from: CheckState;
  to: CheckState;
  at: Date;
  code: number;
  latencyMs: number | null;
  reason: string | null;
  message: string | null;
}

/**
 * The body vigil.webhook_payload() builds for a transition (whose URL the
 * transition log stores redacted and message capped), as a value: what
 * tests compare the stored and sent bodies with. Production bodies are built
 * in SQL only, with the outbox row.
 */
export function webhookPayloadOf(t: TransitionFacts, type: CheckEventType): CheckWebhookPayload {
  const at = t.at.toISOString();
  return {
    type,
    timestamp: at,
    data: {
      check: { namespace: t.namespace, name: t.name, uid: t.uid, url: redactUrl(t.url) },
      from: t.from,
      to: t.to,
      since: at,
      code: t.code,
      latencyMs: t.latencyMs,
      reason: t.reason,
      message: capMessage(t.message),
    },
  };
}
