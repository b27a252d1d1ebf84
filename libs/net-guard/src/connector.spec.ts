import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { guardedConnector } from './connector.js';
import { BlockedAddressError } from './errors.js';
import { createAddressPolicy } from './policy.js';

// Real HTTP servers on loopback; requests go through undici as a probe or a
// webhook would, so these show the guard holds end to end, not only in unit form.
let target: Server;
let redirector: Server;
let targetPort: number;
let redirectorPort: number;
let hits = 0;

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  target = createServer((_req, res) => {
    hits++;
    res.end('secret');
  });
  targetPort = await listen(target);
  redirector = createServer((req, res) => {
    const to = new URL(req.url!, 'http://x').searchParams.get('to')!;
    res.writeHead(302, { location: to }).end();
  });
  redirectorPort = await listen(redirector);
});

afterAll(async () => {
  await new Promise((r) => target.close(r));
  await new Promise((r) => redirector.close(r));
});

function agentFor(options: Parameters<typeof createAddressPolicy>[0]): Dispatcher {
  return new Agent({ connect: guardedConnector(createAddressPolicy(options), { timeout: 2_000 }) }).compose(interceptors.redirect({ maxRedirections: 3 }));
}

async function get(url: string, dispatcher: Dispatcher): Promise<{ status: number; body: string } | Error> {
  try {
    const res = await request(url, { dispatcher, signal: AbortSignal.timeout(5_000) });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    return err as Error;
  }
}

describe('undici through guardedConnector', () => {
  it.each([
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `http://127.1:${p}/`,
    (p: number) => `http://2130706433:${p}/`,
    (p: number) => `http://0x7f000001:${p}/`,
    (p: number) => `http://0177.0.0.1:${p}/`,
    (p: number) => `http://localhost:${p}/`,
    (p: number) => `http://localhost.:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[::ffff:7f00:1]:${p}/`,
    (p: number) => `http://[::1]:${p}/`,
  ])('blocks loopback written as %p by default, before connecting', async (url) => {
    const before = hits;
    const result = await get(url(targetPort), agentFor({}));
    expect(result).toBeInstanceOf(BlockedAddressError);
    expect(hits).toBe(before);
  });

  it.each(['http://169.254.169.254/', 'http://2852039166/', 'http://0xa9fea9fe/', 'http://0251.0376.0251.0376/', 'http://169.254.43518/', 'http://[::ffff:a9fe:a9fe]/', 'http://[fd00:ec2::254]/', 'http://100.100.100.200/'])(
    'blocks the metadata address written as %s',
    async (url) => {
      expect(await get(url, agentFor({}))).toMatchObject({ name: 'BlockedAddressError', code: 'VIGIL_BLOCKED' });
    },
  );

  it('lets an allowed address through', async () => {
    expect(await get(`http://127.0.0.1:${targetPort}/`, agentFor({ allow: ['127.0.0.1/32'] }))).toEqual({ status: 200, body: 'secret' });
    expect(await get(`http://localhost:${targetPort}/`, agentFor({ allow: ['127.0.0.1/32', '::1/128'] }))).toEqual({ status: 200, body: 'secret' });
  });

  it('checks every redirect hop: an allowed host redirecting to metadata or to a denied loopback address is blocked', async () => {
    const dispatcher = agentFor({ allow: ['127.0.0.1/32'] });
    const viaRedirect = (to: string) => `http://127.0.0.1:${redirectorPort}/?to=${encodeURIComponent(to)}`;
    expect(await get(viaRedirect(`http://127.0.0.1:${targetPort}/`), dispatcher)).toEqual({ status: 200, body: 'secret' });
    const before = hits;
    expect(await get(viaRedirect('http://169.254.169.254/latest/meta-data/'), dispatcher)).toBeInstanceOf(BlockedAddressError);
    expect(await get(viaRedirect(`http://127.0.0.2:${targetPort}/`), dispatcher)).toBeInstanceOf(BlockedAddressError);
    expect(await get(viaRedirect(`http://[::ffff:7f00:2]:${targetPort}/`), dispatcher)).toBeInstanceOf(BlockedAddressError);
    expect(hits).toBe(before);
  });
});
