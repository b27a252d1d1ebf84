import { createHmac } from 'node:crypto';
import { parseSecret } from './secret.js';

export interface SignedContent {
  /** The `webhook-id`: the same on every retry of one message. */
  id: string;
  /** The `webhook-timestamp`, in seconds since the epoch (or a Date): set per attempt. */
  timestamp: number | Date;
  /** The exact bytes sent as the request body. */
  body: string | Buffer;
}

/** Seconds since the epoch, as the `webhook-timestamp` header carries them. */
export function toUnixSeconds(timestamp: number | Date): number {
  return typeof timestamp === 'number' ? Math.floor(timestamp) : Math.floor(timestamp.getTime() / 1000);
}

type Key = string | Buffer;

function keyBytes(secret: Key): Buffer {
  return typeof secret === 'string' ? parseSecret(secret) : secret;
}

/** base64 HMAC-SHA256 of `id.timestamp.body` under one key. */
export function signatureFor(content: SignedContent, secret: Key): string {
  const hmac = createHmac('sha256', keyBytes(secret));
  hmac.update(`${content.id}.${toUnixSeconds(content.timestamp)}.`);
  hmac.update(content.body);
  return hmac.digest('base64');
}

/**
 * The `webhook-signature` header value: `v1,<base64>` per secret, separated by
 * spaces, so a receiver that knows either the old or the new secret accepts
 * the message while a secret is being rotated.
 */
export function sign(content: SignedContent, secrets: readonly Key[]): string {
  if (secrets.length === 0) throw new Error('at least one secret is needed to sign a webhook');
  return secrets.map((s) => `v1,${signatureFor(content, s)}`).join(' ');
}

export interface WebhookHeaders {
  'content-type': 'application/json';
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** Every header of a Standard Webhooks request for `content`. */
export function webhookHeaders(content: SignedContent, secrets: readonly Key[]): WebhookHeaders {
  return {
    'content-type': 'application/json',
    'webhook-id': content.id,
    'webhook-timestamp': String(toUnixSeconds(content.timestamp)),
    'webhook-signature': sign(content, secrets),
  };
}
