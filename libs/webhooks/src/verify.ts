import { timingSafeEqual } from 'node:crypto';
import { signatureFor } from './sign.js';

export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError';
}

export interface VerifyOptions {
  /** Accepted distance between the `webhook-timestamp` and now; Standard Webhooks uses 5 minutes. */
  toleranceSeconds?: number;
  /** Now, for tests. */
  now?: Date;
}

export interface VerifiedWebhook {
  id: string;
  timestamp: number;
}

/** Fetch `Headers`, Node's `IncomingHttpHeaders`, or any object of header names to values. */
type HeaderBag = Headers | object;

function header(headers: HeaderBag, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  const first: unknown = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' ? first : undefined;
}

/**
 * Checks a received webhook the way a receiver should: the three headers are
 * present, the timestamp is within the tolerance (replays of old messages fail),
 * and one `v1` signature matches one of `secrets`. Throws
 * WebhookVerificationError saying which check failed.
 */
export function verify(body: string | Buffer, headers: HeaderBag, secrets: readonly (string | Buffer)[], options: VerifyOptions = {}): VerifiedWebhook {
  const id = header(headers, 'webhook-id');
  const rawTimestamp = header(headers, 'webhook-timestamp');
  const signatures = header(headers, 'webhook-signature');
  if (!id || !rawTimestamp || !signatures) throw new WebhookVerificationError('missing webhook-id, webhook-timestamp or webhook-signature header');
  if (!/^\d+$/.test(rawTimestamp)) throw new WebhookVerificationError('webhook-timestamp is not a number of seconds');
  const timestamp = Number(rawTimestamp);
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const tolerance = options.toleranceSeconds ?? 300;
  if (Math.abs(now - timestamp) > tolerance) throw new WebhookVerificationError(`webhook-timestamp is more than ${tolerance} s away from now`);

  const offered = signatures
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  for (const secret of secrets) {
    const expected = Buffer.from(signatureFor({ id, timestamp, body }, secret), 'base64');
    if (offered.some((o) => o.length === expected.length && timingSafeEqual(o, expected))) return { id, timestamp };
  }
  throw new WebhookVerificationError('no webhook-signature matches');
}
