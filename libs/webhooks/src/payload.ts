/** The event types Vigil sends. */
export type CheckEventType = 'check.down' | 'check.up';

/**
 * The body of every Vigil webhook (DESIGN.md, "Webhooks"). The prober builds
 * it once per transition and receiver, inside the transition's transaction;
 * the alerter sends the stored bytes unchanged on every attempt.
 */
export interface CheckWebhookPayload {
  type: CheckEventType;
  /** When the event happened (the transition time), ISO 8601. */
  timestamp: string;
  data: {
    check: { namespace: string; name: string; uid: string; url: string };
    from: 'up' | 'down' | 'pending' | 'paused';
    to: 'up' | 'down' | 'pending' | 'paused';
    /** When the new state began, ISO 8601. */
    since: string;
    /** The HTTP status code of the probe that caused the transition, 0 without a response. */
    code: number;
    latencyMs: number | null;
    reason: string | null;
    message: string | null;
  };
}
