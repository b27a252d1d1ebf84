import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPool, migrate, type Pool } from '@vigil/db';
import { LoopbackServers, DnsStub, waitFor, type ServiceProcess, type TestDatabase } from '@vigil/testing';
import { checkRow, insertCheck, metric, startDatabase, startProber, transitionsFor, type TestDb } from './testing/fixtures.js';

// Targets that misbehave in every way a real site can, on loopback, probed by
// a real prober process. Each must end `down` with the right reason while the
// process stays healthy.
let t: TestDb;
let dns: DnsStub;
const loopback = new LoopbackServers();
let bigBodyBytesSent = 0;
const hits = { guarded: 0, redirector: 0 };

const listen = (server: Server | TcpServer, host?: string) => loopback.listen(server, host);

async function selfSignedCertificate(): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-hostile-'));
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  return { key: await readFile(join(dir, 'key.pem')), cert: await readFile(join(dir, 'cert.pem')) };
}

beforeAll(async () => {
  t = await startDatabase();
  dns = await DnsStub.start({ 'metadata.vigil.test': '169.254.169.254', 'mixed.vigil.test': ['127.0.0.3', '169.254.169.254'] });
});

afterAll(async () => {
  await loopback.closeAll();
  await dns?.stop();
  await t?.pool.end();
  await t?.server.destroy();
});

async function waitForDown(pool: Pool, uid: string, timeoutMs = 30_000) {
  await waitFor(`check ${uid} to go down`, async () => (await checkRow(pool, uid)).state === 'down', { timeoutMs, intervalMs: 200 });
  return checkRow(pool, uid);
}

describe('hostile targets', () => {
  let prober: ServiceProcess;
  const base: Record<string, string> = {};

  beforeAll(async () => {
    const port = await listen(
      createHttpServer((req, res) => {
        switch (req.url) {
          case '/big': {
            res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
            const chunk = Buffer.alloc(256 * 1024, 'x');
            const write = () => {
              while (bigBodyBytesSent < 50 * 1024 * 1024) {
                bigBodyBytesSent += chunk.length;
                if (!res.write(chunk)) return void res.once('drain', write);
              }
              res.end();
            };
            return write();
          }
          case '/hang':
            return; // headers never arrive
          case '/loop':
            return void res.writeHead(302, { location: '/loop' }).end();
          default:
            return void res.end('ok');
        }
      }),
    );
    base.http = `http://127.0.0.1:${port}`;
    base.noHttp = `http://127.0.0.1:${await listen(createTcpServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n')))}`;
    base.tls = `https://127.0.0.1:${await listen(createHttpsServer(await selfSignedCertificate(), (_q, r) => r.end('secure')))}`;
    prober = await startProber(t.db.url, 'hostile-prober', { DNS_SERVERS: dns.server });
  });

  afterAll(async () => {
    expect(await prober.stop()).toBe(0);
  });

  it.each([
    ['a 50 MB body', 'BodyMismatch', 200, () => ({ url: `${base.http}/big`, expectBodyContains: 'healthy' })],
    ['headers that never arrive', 'Timeout', 0, () => ({ url: `${base.http}/hang` })],
    ['a self-signed certificate', 'TLSError', 0, () => ({ url: `${base.tls}/` })],
    ['a redirect loop', 'TooManyRedirects', 302, () => ({ url: `${base.http}/loop` })],
    ['a TCP port that speaks no HTTP', 'ProtocolError', 0, () => ({ url: `${base.noHttp}/` })],
    ['a name in .invalid', 'DNSFailure', 0, () => ({ url: 'http://broken.invalid/' })],
    ['a name DNS does not know', 'DNSFailure', 0, () => ({ url: 'http://nowhere.vigil.test/' })],
  ])('%s → down with %s', async (_what, reason, code, fields) => {
    const uid = await insertCheck(t.pool, { ...fields(), timeoutMs: 2_000 });
    const row = await waitForDown(t.pool, uid);
    expect(row).toMatchObject({ state: 'down', last_reason: reason, last_code: code });
    expect((await transitionsFor(t.pool, uid)).map((r) => [r.to_state, r.reason])).toEqual([['down', reason]]);
    // A timeout takes the check's timeout; everything else fails fast.
    expect(row.last_latency_ms as number).toBeLessThan(reason === 'Timeout' ? 2_600 : 1_500);
  });

  it('read only a bounded part of the 50 MB body, and the process stayed healthy', async () => {
    expect(bigBodyBytesSent).toBeLessThan(20 * 1024 * 1024);
    expect((await fetch(`${prober.opsUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${prober.opsUrl}/readyz`)).status).toBe(200);
    expect(await metric(prober, 'vigil_process_resident_memory_bytes')).toBeLessThan(400 * 1024 * 1024);
    for (const reason of ['BodyMismatch', 'Timeout', 'TLSError', 'TooManyRedirects', 'ProtocolError', 'DNSFailure']) {
      expect(await metric(prober, 'vigil_prober_probes_total', { result: 'failure', reason })).toBeGreaterThan(0);
    }
  });
});

describe('the SSRF guard, on by default', () => {
  // Its own database and prober with the default deny list; only 127.0.0.3
  // (the "allowed host" hosting a redirector) is allowed.
  let db: TestDatabase;
  let pool: Pool;
  let prober: ServiceProcess;
  let guardedPort = 0;
  let redirector = '';

  beforeAll(async () => {
    db = await t.server.createDatabase();
    pool = createPool({ connectionString: db.url, applicationName: 'ssrf-test', max: 2 });
    await migrate(pool);
    guardedPort = await listen(
      createHttpServer((_q, r) => {
        hits.guarded++;
        r.end('internal');
      }),
    );
    const redirectorPort = await listen(
      createHttpServer((req, res) => {
        hits.redirector++;
        res.writeHead(302, { location: decodeURIComponent(req.url!.slice(1)) }).end();
      }),
      '127.0.0.3',
    );
    redirector = `http://127.0.0.3:${redirectorPort}`;
    prober = await startProber(db.url, 'ssrf-prober', { SSRF_ALLOW_CIDRS: '127.0.0.3/32', DNS_SERVERS: dns.server });
  });

  afterAll(async () => {
    expect(await prober.stop()).toBe(0);
    await pool.end();
  });

  const forms = [
    (p: number) => `http://127.0.0.1:${p}/`,
    (p: number) => `http://127.1:${p}/`,
    (p: number) => `http://2130706433:${p}/`,
    (p: number) => `http://0x7f000001:${p}/`,
    (p: number) => `http://0177.0.0.1:${p}/`,
    (p: number) => `http://localhost:${p}/`,
    (p: number) => `http://localhost.:${p}/`,
    (p: number) => `http://[::1]:${p}/`,
    (p: number) => `http://[::ffff:127.0.0.1]:${p}/`,
    (p: number) => `http://[::ffff:7f00:1]:${p}/`,
    () => 'http://169.254.169.254/latest/meta-data/',
    () => 'http://2852039166/',
    () => 'http://0xa9fea9fe/',
    () => 'http://0251.0376.0251.0376/',
    () => 'http://169.254.43518/',
    () => 'http://[::ffff:169.254.169.254]/',
    () => 'http://[::ffff:a9fe:a9fe]/',
    () => 'http://[fd00:ec2::254]/',
    () => 'http://100.100.100.200/',
    () => 'http://metadata.vigil.test/',
    () => 'http://mixed.vigil.test/',
  ];

  it('blocks loopback and metadata in every spelling, before connecting', async () => {
    const uids = await Promise.all(forms.map((form, i) => insertCheck(pool, { name: `ssrf-${i}`, url: form(guardedPort) })));
    for (const uid of uids) {
      const row = await waitForDown(pool, uid);
      expect({ url: row.url, reason: row.last_reason }).toEqual({ url: row.url, reason: 'Blocked' });
    }
    expect(hits.guarded).toBe(0);
  });

  it('blocks a redirect from an allowed host to the metadata address or to loopback', async () => {
    const toMetadata = await insertCheck(pool, { name: 'redirect-metadata', url: `${redirector}/${encodeURIComponent('http://169.254.169.254/latest/meta-data/')}` });
    const toLoopback = await insertCheck(pool, { name: 'redirect-loopback', url: `${redirector}/${encodeURIComponent(`http://127.0.0.1:${guardedPort}/`)}` });
    for (const uid of [toMetadata, toLoopback]) {
      expect(await waitForDown(pool, uid)).toMatchObject({ last_reason: 'Blocked', last_code: 0 });
    }
    expect(hits.redirector).toBeGreaterThanOrEqual(2);
    expect(hits.guarded).toBe(0);
    expect((await fetch(`${prober.opsUrl}/healthz`)).status).toBe(200);
  });
});
