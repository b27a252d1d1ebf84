import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { Webhook } from 'standardwebhooks';
import { TestCertificateAuthority } from './certificates.js';
import { DnsStub } from './dns-stub.js';
import { DOWN, HttpTarget, UP } from './http-target.js';
import { WebhookReceiver } from './webhook-receiver.js';

let dir: string;
let dns: DnsStub;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-stand-ins-'));
  dns = await DnsStub.start({ 'example.com': ['127.0.0.2', '::1'], 'github.com': '127.0.0.3' });
});

afterAll(async () => {
  await dns?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the DNS stub', () => {
  it('answers A and AAAA records through an ordinary resolver, and NXDOMAIN for unknown names', async () => {
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([dns.server]);
    expect(await resolver.resolve4('example.com')).toEqual(['127.0.0.2']);
    expect(await resolver.resolve4('EXAMPLE.com.')).toEqual(['127.0.0.2']);
    expect(await resolver.resolve6('example.com')).toEqual(['::1']);
    expect(await resolver.resolve4('github.com')).toEqual(['127.0.0.3']);
    await expect(resolver.resolve4('broken.invalid')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    dns.set('late.example', '127.0.0.9');
    expect(await resolver.resolve4('late.example')).toEqual(['127.0.0.9']);
  });
});

describe('an HTTPS stand-in for a real site', () => {
  it('serves the site name with a certificate from the test CA, and switches behaviour on demand', async () => {
    const ca = await TestCertificateAuthority.create(dir, 'sites-ca');
    const target = await HttpTarget.start({
      host: '127.0.0.2',
      tls: await ca.issue('example.com', { subject: '/CN=example.com', dnsNames: ['example.com'], usage: 'server' }),
    });
    const agent = new Agent({ connect: { ca: await readFile(ca.cert), servername: 'example.com' } });
    try {
      const url = target.url('/health');
      expect(url).toBe(`https://127.0.0.2:${target.port}/health`);
      const up = await request(url, { dispatcher: agent });
      expect(up.statusCode).toBe(200);
      expect(await up.body.text()).toBe('ok');

      target.set(DOWN);
      expect((await request(url, { dispatcher: agent })).statusCode).toBe(503);

      target.set({ kind: 'redirect', location: 'http://169.254.169.254/latest/meta-data/' });
      const redirect = await request(url, { dispatcher: agent });
      expect(redirect.statusCode).toBe(302);
      expect(redirect.headers.location).toBe('http://169.254.169.254/latest/meta-data/');

      target.set({ kind: 'hang' });
      await expect(request(url, { dispatcher: agent, headersTimeout: 300 })).rejects.toMatchObject({ code: 'UND_ERR_HEADERS_TIMEOUT' });

      target.set(UP);
      expect(target.requests.map((r) => r.path)).toEqual(['/health', '/health', '/health', '/health']);
    } finally {
      await agent.close();
      await target.stop();
    }
  });
});

describe('the webhook receiver', () => {
  it('verifies deliveries with the reference standardwebhooks library and records bad ones as unverified', async () => {
    const secret = `whsec_${Buffer.from('a test secret of 32 bytes length!').toString('base64')}`;
    const receiver = await WebhookReceiver.start([secret]);
    const signer = new Webhook(secret);
    const body = JSON.stringify({ type: 'check.down', timestamp: new Date().toISOString(), data: {} });
    const post = (headers: Record<string, string>, payload = body) =>
      fetch(receiver.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload });
    try {
      const now = new Date();
      const headers = { 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signer.sign('msg_1', now, body) };
      expect((await post(headers)).status).toBe(204);
      expect((await post(headers, body.replace('down', 'up'))).status).toBe(204);

      receiver.behaviour = { kind: 'fail', status: 429, retryAfter: '3' };
      const limited = await post(headers);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');

      expect(receiver.received.map((r) => r.verified)).toEqual([true, false, true]);
      expect(receiver.received[1]!.verifyError).toMatch(/signature/i);
      expect(await receiver.waitForDeliveries(1)).toHaveLength(1);
      expect(receiver.uniqueVerified()[0]!.payload).toEqual(JSON.parse(body));
    } finally {
      await receiver.stop();
    }
  });
});
