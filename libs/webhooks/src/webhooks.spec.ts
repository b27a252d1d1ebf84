import { describe, expect, it } from '@jest/globals';
import { Webhook } from 'standardwebhooks';
import { WebhookSecretError, generateSecret, parseSecret } from './secret.js';
import { sign, webhookHeaders } from './sign.js';
import { WebhookVerificationError, verify } from './verify.js';

const body = '{"type": "check.down", "timestamp": "2026-06-06T22:41:07.000Z"}';
// Ids are generated in SQL only (vigil.new_webhook_id(), @vigil/contracts WEBHOOK_ID_PATTERN).
const messageId = 'msg_0b0f6a4e51a44a579f390d5e0a4e7a11';

describe('signing', () => {
  it('produces signatures the reference standardwebhooks library accepts', () => {
    const secret = generateSecret();
    const id = messageId;
    const now = new Date();
    const headers = webhookHeaders({ id, timestamp: now, body }, [secret]);
    expect(headers['webhook-id']).toBe(id);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(now.getTime() / 1000)));
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(new Webhook(secret).verify(body, { ...headers })).toEqual(JSON.parse(body));
    // And matches the reference's own signature byte for byte.
    expect(headers['webhook-signature']).toBe(new Webhook(secret).sign(id, now, body));
  });

  it('signs with every secret during a rotation, each accepted on its own', () => {
    const [oldSecret, newSecret] = [generateSecret(), generateSecret()];
    const headers = webhookHeaders({ id: messageId, timestamp: new Date(), body }, [newSecret, oldSecret]);
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(() => new Webhook(oldSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(newSecret).verify(body, { ...headers })).not.toThrow();
    expect(() => new Webhook(generateSecret()).verify(body, { ...headers })).toThrow();
  });

  it('refuses to sign without a secret', () => {
    expect(() => sign({ id: 'msg_x', timestamp: 1, body }, [])).toThrow(/at least one secret/);
  });
});

describe('verify', () => {
  const secret = generateSecret();
  const id = 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W';

  it('accepts what the reference library signs', () => {
    const now = new Date();
    const signature = new Webhook(secret).sign(id, now, body);
    const headers = { 'webhook-id': id, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature };
    expect(verify(body, headers, [secret])).toEqual({ id, timestamp: Math.floor(now.getTime() / 1000) });
    expect(verify(body, new Headers(headers), [generateSecret(), secret])).toEqual({ id, timestamp: Math.floor(now.getTime() / 1000) });
  });

  it('refuses a tampered body, a wrong secret, and a timestamp outside the tolerance', () => {
    const timestamp = Math.floor(Date.now() / 1000);
    // A fixed "now", so a slow second between signing and verifying cannot move the boundary.
    const now = { now: new Date(timestamp * 1000) };
    const headers = webhookHeaders({ id, timestamp, body }, [secret]);
    expect(() => verify(body.replace('down', 'up'), headers, [secret])).toThrow(new WebhookVerificationError('no webhook-signature matches'));
    expect(() => verify(body, headers, [generateSecret()])).toThrow(/no webhook-signature matches/);
    const old = webhookHeaders({ id, timestamp: timestamp - 301, body }, [secret]);
    expect(() => verify(body, old, [secret], now)).toThrow(/more than 300 s away/);
    const future = webhookHeaders({ id, timestamp: timestamp + 301, body }, [secret]);
    expect(() => verify(body, future, [secret], now)).toThrow(/more than 300 s away/);
    expect(() => verify(body, { 'webhook-id': id }, [secret])).toThrow(/missing/);
  });
});

describe('secrets', () => {
  it('parse whsec_ base64 keys of 24 to 64 bytes', () => {
    const key = Buffer.alloc(32, 7);
    expect(parseSecret(`whsec_${key.toString('base64')}`)).toEqual(key);
    expect(parseSecret(generateSecret())).toHaveLength(32);
  });

  it.each([
    ['no prefix', Buffer.alloc(32).toString('base64'), /must start with whsec_/],
    ['not base64', 'whsec_not*base64!', /standard base64/],
    ['too short', `whsec_${Buffer.alloc(8).toString('base64')}`, /24 to 64 bytes/],
  ])('refuse %s without echoing the secret', (_what, secret, message) => {
    let error: unknown;
    try {
      parseSecret(secret);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(WebhookSecretError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain(secret.slice(6));
  });
});
