import type { CheckEventType } from './events.js';
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
