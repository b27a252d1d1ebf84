import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MESSAGE_MAX_CHARS } from '@vigil/contracts';
import { createAddressPolicy, type HostResolver } from '@vigil/net-guard';
import { DEFAULT_PROBE_OPTIONS, probe, type ProbeOptions, type ProbeRequest } from './probe.js';
import { LoopbackServers } from '@vigil/testing';

// Real servers on loopback: the probe runs exactly as in the service, with the
// SSRF guard allowing 127.0.0.1 only (allow overrides the default deny).
const options: ProbeOptions = { ...DEFAULT_PROBE_OPTIONS, policy: createAddressPolicy({ allow: ['127.0.0.1/32'] }) };
const loopback = new LoopbackServers();
let base = '';
let garbagePort = 0;
let silentPort = 0;
let tlsPort = 0;
let closedPort = 0;
let bigBodyBytesSent = 0;
/** A second origin (another port): the headers each request to it carried. */
let otherOrigin = '';
const otherOriginHeaders: Array<Record<string, string | string[] | undefined>> = [];
const sameOriginHeaders: Array<Record<string, string | string[] | undefined>> = [];

const listen = (server: Server | TcpServer) => loopback.listen(server);

beforeAll(async () => {
  const port = await listen(
    createHttpServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      switch (url.pathname) {
        case '/ok':
          return void res.end('all systems operational');
        case '/status':
          return void res.writeHead(Number(url.searchParams.get('code'))).end();
        case '/slow':
          return void setTimeout(() => res.end('late'), Number(url.searchParams.get('ms')));
        case '/hang':
          return;
        case '/big': {
          // 50 MB, written as fast as the client reads it.
          res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
          const chunk = Buffer.alloc(64 * 1024, 'x');
          const write = () => {
            while (bigBodyBytesSent < 50 * 1024 * 1024) {
              bigBodyBytesSent += chunk.length;
              if (!res.write(chunk)) return void res.once('drain', write);
            }
            res.end();
          };
          return write();
        }
        case '/loop':
          return void res.writeHead(302, { location: '/loop' }).end();
        case '/hop': {
          const n = Number(url.searchParams.get('n'));
          return void res.writeHead(301, { location: n > 0 ? `/hop?n=${n - 1}` : '/ok' }).end();
        }
        case '/to':
          return void res.writeHead(Number(url.searchParams.get('code') ?? 302), { location: url.searchParams.get('url')! }).end();
        case '/echo-method':
          return void res.end(req.method);
        case '/headers':
          sameOriginHeaders.push(req.headers);
          return void res.end('seen');
        default:
          return void res.writeHead(404).end();
      }
    }),
  );
  base = `http://127.0.0.1:${port}`;
  const otherPort = await listen(
    createHttpServer((req, res) => {
      otherOriginHeaders.push(req.headers);
      const url = new URL(req.url!, 'http://x');
      // Back to the first origin: the dropped headers stay dropped.
      if (url.pathname === '/back') return void res.writeHead(302, { location: `${base}/headers` }).end();
      res.end('other');
    }),
  );
  otherOrigin = `http://127.0.0.1:${otherPort}`;
  garbagePort = await listen(createTcpServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')));
  silentPort = await listen(createTcpServer(() => undefined));
  const dir = await mkdtemp(join(tmpdir(), 'vigil-probe-'));
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  tlsPort = await listen(
    createHttpsServer({ key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) }, (_req, res) => res.end('secure')),
  );
  const closed = createTcpServer();
  closedPort = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as AddressInfo).port)));
  await new Promise((r) => closed.close(r));
});

afterAll(async () => {
  await loopback.closeAll();
});

function request(url: string, extra: Partial<ProbeRequest> = {}): ProbeRequest {
  return { url, method: 'GET', headers: {}, timeoutMs: 2_000, expectStatusCodes: ['200-399'], expectBodyContains: null, allowInsecureRedirects: false, ...extra };
}

describe('a probe', () => {
  it('succeeds with honest phase timings', async () => {
    const outcome = await probe(request(`${base}/ok`, { expectBodyContains: 'operational' }), options);
    expect(outcome).toMatchObject({ ok: true, code: 200, reason: null, message: null, redirects: 0 });
    const t = outcome.timings;
    expect(t.dnsMs).toBe(0); // an IP literal needs no resolution
    expect(t.connectMs).toBeGreaterThan(0);
    expect(t.tlsMs).toBe(0);
    expect(t.ttfbMs).toBeGreaterThan(0);
    expect(t.totalMs).toBeGreaterThanOrEqual(t.connectMs! + t.ttfbMs!);
  });

  it('measures the time to first byte of a slow server as ttfb', async () => {
    const outcome = await probe(request(`${base}/slow?ms=300`), options);
    expect(outcome.ok).toBe(true);
    expect(outcome.timings.ttfbMs).toBeGreaterThanOrEqual(290);
    expect(outcome.timings.connectMs).toBeLessThan(250);
  });

  it('checks status ranges and the body', async () => {
    expect(await probe(request(`${base}/status?code=503`), options)).toMatchObject({ ok: false, code: 503, reason: 'UnexpectedStatus' });
    expect(await probe(request(`${base}/status?code=418`, { expectStatusCodes: ['200', '418'] }), options)).toMatchObject({ ok: true, code: 418 });
    expect(await probe(request(`${base}/ok`, { expectBodyContains: 'outage' }), options)).toMatchObject({ ok: false, code: 200, reason: 'BodyMismatch' });
  });

  it('follows redirects up to the limit, and fails a loop with TooManyRedirects', async () => {
    expect(await probe(request(`${base}/hop?n=2`), options)).toMatchObject({ ok: true, code: 200, redirects: 3 });
    const loop = await probe(request(`${base}/loop`), options);
    expect(loop).toMatchObject({ ok: false, code: 302, reason: 'TooManyRedirects', redirects: 5 });
  });

  it('continues a POST as GET after a 303, and keeps the method after a 307', async () => {
    const to = (code: number) => `${base}/to?code=${code}&url=${encodeURIComponent('/echo-method')}`;
    expect(await probe(request(to(303), { method: 'POST', expectBodyContains: 'GET' }), options)).toMatchObject({ ok: true, redirects: 1 });
    expect(await probe(request(to(307), { method: 'POST', expectBodyContains: 'POST' }), options)).toMatchObject({ ok: true, redirects: 1 });
  });

  it("sends the check's headers to its own origin only, on every hop", async () => {
    const headers = { Authorization: 'Bearer s3cret', Cookie: 'sid=s3cret', 'X-Api-Key': 's3cret' };
    const to = (url: string) => `${base}/to?code=302&url=${encodeURIComponent(url)}`;
    sameOriginHeaders.length = 0;
    otherOriginHeaders.length = 0;
    // Same origin: kept.
    expect(await probe(request(to('/headers'), { headers }), options)).toMatchObject({ ok: true, redirects: 1 });
    expect(sameOriginHeaders).toEqual([expect.objectContaining({ authorization: 'Bearer s3cret', cookie: 'sid=s3cret', 'x-api-key': 's3cret' })]);
    // Another port is another origin: none of them, and not again on the way back.
    sameOriginHeaders.length = 0;
    expect(await probe(request(to(`${otherOrigin}/back`), { headers }), options)).toMatchObject({ ok: true, redirects: 2 });
    expect(otherOriginHeaders).toHaveLength(1);
    expect(sameOriginHeaders).toHaveLength(1);
    for (const seen of [...otherOriginHeaders, ...sameOriginHeaders]) {
      expect(JSON.stringify(seen)).not.toContain('s3cret');
      expect(seen['user-agent']).toBe(DEFAULT_PROBE_OPTIONS.userAgent);
    }
  });

  it('refuses userinfo in the URL with CredentialsInUrl, without sending anything', async () => {
    sameOriginHeaders.length = 0;
    const outcome = await probe(request(`${base.replace('://', '://user:s3cret@')}/headers`), options);
    expect(outcome).toMatchObject({ ok: false, code: 0, reason: 'CredentialsInUrl' });
    expect(outcome.message).toMatch(/userinfo/);
    expect(outcome.message).not.toContain('s3cret');
    expect(sameOriginHeaders).toHaveLength(0);
  });

  it('redacts the redirect Location it quotes', async () => {
    const outcome = await probe(request(`${base}/to?url=${encodeURIComponent('/ok?token=s3cret')}`), { ...options, maxRedirects: 0 });
    expect(outcome).toMatchObject({ ok: false, reason: 'TooManyRedirects' });
    expect(outcome.message).toContain('/ok?token=REDACTED');
    expect(outcome.message).not.toContain('s3cret');
  });

  it('caps its message at MESSAGE_MAX_CHARS', async () => {
    const outcome = await probe(request(`${base}/ok`, { expectBodyContains: 'y'.repeat(5000) }), options);
    expect(outcome).toMatchObject({ ok: false, reason: 'BodyMismatch' });
    expect(outcome.message).toHaveLength(MESSAGE_MAX_CHARS);
  });

  it('reads at most 64 KiB of a 50 MB body and stays fast', async () => {
    const outcome = await probe(request(`${base}/big`, { expectBodyContains: 'never there' }), options);
    expect(outcome).toMatchObject({ ok: false, code: 200, reason: 'BodyMismatch' });
    expect(bigBodyBytesSent).toBeLessThan(10 * 1024 * 1024);
  });

  it.each([
    ['headers never arrive', () => `${base}/hang`, 'Timeout', /timed out waiting for response headers/],
    ['a TCP port that speaks no HTTP', () => `http://127.0.0.1:${garbagePort}/`, 'ProtocolError', /.+/],
    ['a TCP port that never answers', () => `http://127.0.0.1:${silentPort}/`, 'Timeout', /timed out/],
    ['a closed port', () => `http://127.0.0.1:${closedPort}/`, 'ConnectionRefused', /ECONNREFUSED/],
    ['a self-signed certificate', () => `https://127.0.0.1:${tlsPort}/`, 'TLSError', /self-signed/],
    ['a name that does not resolve', () => `http://status.example.invalid/`, 'DNSFailure', /ENOTFOUND/],
    ['the metadata address', () => 'http://169.254.169.254/latest/meta-data/', 'Blocked', /blocked/],
    ['loopback outside the allow list', () => `http://127.0.0.2:${closedPort}/`, 'Blocked', /blocked/],
    ['a redirect to the metadata address', () => `${base}/to?url=${encodeURIComponent('http://169.254.169.254/')}`, 'Blocked', /blocked/],
    ['an unsupported scheme', () => 'ftp://127.0.0.1/', 'ProtocolError', /unsupported scheme/],
  ])('fails %s with %s', async (_what, url, reason, message) => {
    const outcome = await probe(request(url(), { timeoutMs: 700 }), options);
    expect(outcome).toMatchObject({ ok: false, reason });
    expect(outcome.message).toMatch(message);
    expect(outcome.timings.totalMs).toBeLessThan(1_500);
  });

  it('times DNS when a name is resolved', async () => {
    const resolver: HostResolver = {
      resolve4: () => new Promise((r) => setTimeout(() => r(['127.0.0.1']), 50)),
      resolve6: () => Promise.resolve([]),
    };
    const outcome = await probe(request(`${base.replace('127.0.0.1', 'site.test')}/ok`), { ...options, resolver });
    expect(outcome).toMatchObject({ ok: true, code: 200 });
    expect(outcome.timings.dnsMs).toBeGreaterThanOrEqual(45);
  });
});
