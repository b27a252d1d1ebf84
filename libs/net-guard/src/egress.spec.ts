import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request, type Dispatcher } from 'undici';
import { guardedConnector } from './connector.js';
import { classifyEgressError, readCapped, type EgressFailure } from './egress.js';
import { BlockedAddressError, DnsLookupError } from './errors.js';
import { createAddressPolicy } from './policy.js';
import { LoopbackServers } from '@vigil/testing';

// Real servers on loopback, reached through undici and the guarded connector
// exactly as a probe or a webhook attempt is, so the classification is of the
// errors undici really throws, not of hand-made ones.
const loopback = new LoopbackServers();
const ports: Record<'http' | 'garbage' | 'silent' | 'reset' | 'tls' | 'closed', number> = { http: 0, garbage: 0, silent: 0, reset: 0, tls: 0, closed: 0 };
let bigBytesSent = 0;
let bigClosed: Promise<void>;
let smallSocket: Socket | undefined;
let certDir = '';

const listen = (server: Server | TcpServer) => loopback.listen(server);

beforeAll(async () => {
  let markBigClosed: () => void;
  bigClosed = new Promise((resolve) => (markBigClosed = resolve));
  const http = createHttpServer((req, res) => {
    if (req.url === '/small') {
      smallSocket = req.socket;
      return void res.end('hello');
    }
    if (req.url === '/empty') return void res.writeHead(204).end();
    if (req.url === '/hang') return;
    // /big: 50 MB, written as fast as the client reads it.
    res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
    res.once('close', () => markBigClosed());
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const write = () => {
      while (bigBytesSent < 50 * 1024 * 1024 && !res.destroyed) {
        bigBytesSent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end();
    };
    write();
  });
  ports.http = await listen(http);
  ports.garbage = await listen(createTcpServer((s) => s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')));
  ports.silent = await listen(createTcpServer(() => undefined));
  ports.reset = await listen(createTcpServer((s) => s.once('data', () => s.resetAndDestroy())));
  certDir = await mkdtemp(join(tmpdir(), 'vigil-egress-'));
  await promisify(execFile)('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
  ]);
  ports.tls = await listen(createHttpsServer({ key: await readFile(join(certDir, 'key.pem')), cert: await readFile(join(certDir, 'cert.pem')) }, (_req, res) => res.end('secure')));
  const closed = createTcpServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  ports.closed = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
});

afterAll(async () => {
  await loopback.closeAll();
  await rm(certDir, { recursive: true, force: true });
});

const loopbackAllowed = createAddressPolicy({ allow: ['127.0.0.1/32'] });

function agent(policy = loopbackAllowed): Dispatcher {
  return new Agent({ connect: guardedConnector(policy, { timeout: 2_000 }), headersTimeout: 300, bodyTimeout: 300 });
}

/** The classification of what a GET of `url` threw; fails the test if it succeeded. */
async function failureOf(url: string, dispatcher = agent(), signal?: AbortSignal): Promise<EgressFailure> {
  try {
    const res = await request(url, { dispatcher, ...(signal ? { signal } : {}) });
    await res.body.text();
  } catch (err) {
    return classifyEgressError(err, { timedOut: signal?.aborted ?? false });
  } finally {
    await dispatcher.close().catch(() => undefined);
  }
  throw new Error(`GET ${url} succeeded`);
}

describe('classifyEgressError on what undici throws', () => {
  it.each([
    ['a closed port', 'ConnectionRefused', () => `http://127.0.0.1:${ports.closed}/`, /ECONNREFUSED/],
    ['a peer that resets the connection', 'ConnectionReset', () => `http://127.0.0.1:${ports.reset}/`, /ECONNRESET|other side closed/],
    ['headers that never arrive', 'Timeout', () => `http://127.0.0.1:${ports.http}/hang`, /Headers Timeout|UND_ERR_HEADERS_TIMEOUT/],
    ['a port that never answers', 'Timeout', () => `http://127.0.0.1:${ports.silent}/`, /.+/],
    ['a self-signed certificate', 'TLSError', () => `https://127.0.0.1:${ports.tls}/`, /self-signed/],
    ['a port that speaks no HTTP', 'ProtocolError', () => `http://127.0.0.1:${ports.garbage}/`, /.+/],
    ['a name under .invalid', 'DNSFailure', () => 'http://status.example.invalid/', /^cannot resolve status\.example\.invalid: ENOTFOUND/],
  ])('%s is %s', async (_what, reason, url, message) => {
    const failure = await failureOf(url());
    expect(failure.reason).toBe(reason);
    expect(failure.message).toMatch(message);
  });

  it('names the SSRF guard, with its own message and no code prefix', async () => {
    expect(await failureOf(`http://127.0.0.1:${ports.http}/small`, agent(createAddressPolicy()))).toEqual({
      reason: 'Blocked',
      message: '127.0.0.1 is a blocked address (SSRF guard)',
    });
  });

  it("makes the caller's deadline win over whatever the abort surfaced as", async () => {
    expect((await failureOf(`http://127.0.0.1:${ports.silent}/`, agent(), AbortSignal.timeout(100))).reason).toBe('Timeout');
  });
});

describe('classifyEgressError on error chains', () => {
  const wrapped = (inner: unknown) => Object.assign(new Error('fetch failed', { cause: inner }), { code: 'UND_ERR_WHATEVER' });

  it('finds the guard and the resolver anywhere in the chain, even when a deadline fired', () => {
    expect(classifyEgressError(wrapped(wrapped(new BlockedAddressError('169.254.169.254', 'metadata.test'))), { timedOut: true })).toEqual({
      reason: 'Blocked',
      message: 'metadata.test resolves to 169.254.169.254, a blocked address (SSRF guard)',
    });
    expect(classifyEgressError(wrapped(new DnsLookupError('ESERVFAIL', 'x.test')))).toEqual({ reason: 'DNSFailure', message: 'cannot resolve x.test: ESERVFAIL' });
  });

  it('takes the outermost specific error, and its message', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:80'), { code: 'ECONNREFUSED' });
    expect(classifyEgressError(wrapped(refused))).toEqual({ reason: 'ConnectionRefused', message: 'connect ECONNREFUSED 10.0.0.1:80' });
    expect(classifyEgressError(Object.assign(new Error('no route'), { code: 'EHOSTUNREACH' }))).toEqual({ reason: 'ConnectionRefused', message: 'EHOSTUNREACH: no route' });
    expect(classifyEgressError(Object.assign(new Error('x'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })).reason).toBe('TLSError');
    expect(classifyEgressError(Object.assign(new Error('x'), { code: 'EAI_AGAIN' })).reason).toBe('DNSFailure');
    expect(classifyEgressError(Object.assign(new Error('gone'), { name: 'AbortError' })).reason).toBe('Timeout');
  });

  it('calls anything else a ProtocolError, whatever was thrown', () => {
    expect(classifyEgressError(Object.assign(new Error('Expected HTTP/'), { code: 'HPE_INVALID_CONSTANT' }))).toEqual({
      reason: 'ProtocolError',
      message: 'HPE_INVALID_CONSTANT: Expected HTTP/',
    });
    expect(classifyEgressError('a string')).toEqual({ reason: 'ProtocolError', message: 'a string' });
    expect(classifyEgressError(undefined)).toEqual({ reason: 'ProtocolError', message: 'undefined' });
  });

  it('survives a cyclic cause and cuts long messages', () => {
    const a = new Error('a'.repeat(500)) as Error & { cause?: unknown };
    a.cause = a;
    const failure = classifyEgressError(a);
    expect(failure.reason).toBe('ProtocolError');
    expect(failure.message).toHaveLength(300);
    expect(failure.message.endsWith('...')).toBe(true);
  });
});

describe('readCapped', () => {
  it('reads a body that fits to its end and leaves the kept-alive connection open', async () => {
    const dispatcher = new Agent({ connect: guardedConnector(loopbackAllowed), keepAliveTimeout: 10_000 });
    const res = await request(`http://127.0.0.1:${ports.http}/small`, { dispatcher });
    expect((await readCapped(res.body, 1024)).toString()).toBe('hello');
    const empty = await request(`http://127.0.0.1:${ports.http}/empty`, { dispatcher });
    expect(await readCapped(empty.body, 1024)).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(smallSocket?.destroyed).toBe(false);
    await dispatcher.close();
  });

  it('stops at the limit and drops the connection: a 50 MB body costs the limit', async () => {
    const dispatcher = agent();
    const res = await request(`http://127.0.0.1:${ports.http}/big`, { dispatcher });
    const bytes = await readCapped(res.body, 64 * 1024);
    expect(bytes).toHaveLength(64 * 1024);
    await bigClosed;
    expect(bigBytesSent).toBeLessThan(10 * 1024 * 1024);
    await dispatcher.close();
  });
});
