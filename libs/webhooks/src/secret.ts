import { randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

export class WebhookSecretError extends Error {
  override name = 'WebhookSecretError';
}

/**
 * The key bytes of a Standard Webhooks secret, `whsec_` followed by base64 of
 * 24 to 64 random bytes. The error never repeats the secret itself.
 */
export function parseSecret(secret: string): Buffer {
  if (!secret.startsWith(PREFIX)) throw new WebhookSecretError('a webhook secret must start with whsec_');
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) {
    throw new WebhookSecretError('a webhook secret must be whsec_ followed by standard base64');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length < 24 || key.length > 64) {
    throw new WebhookSecretError(`a webhook secret must hold 24 to 64 bytes of key (this one holds ${key.length})`);
  }
  return key;
}

/** A new random secret in the `whsec_` format (32 bytes of key). */
export function generateSecret(): string {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}
