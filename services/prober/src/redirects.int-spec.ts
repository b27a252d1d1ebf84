import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackServers, TestCertificateAuthority, waitFor, type ServiceProcess } from '@vigil/testing';
import { addReceiver, checkRow, editCheck, insertCheck, startDatabase, startProber, transitionsFor, type TestDb } from './testing/fixtures.js';

// Credentials stay with their check: real HTTPS servers (signed by a test CA
// the prober trusts through NODE_EXTRA_CA_CERTS) and a plain HTTP one, each
// another origin, probed by a real prober process writing to real Postgres.
const SECRET = 's3cret';
const CREDENTIALS = { Authorization: `Bearer ${SECRET}-auth`, Cookie: `sid=${SECRET}-cookie`, 'X-Api-Key': `${SECRET}-key` };

let t: TestDb;
let prober: ServiceProcess;
const loopback = new LoopbackServers();
/** Every request each server received: path and headers. */
const seen = { secure: [] as Seen[], otherSecure: [] as Seen[], plain: [] as Seen[] };
const origins = { secure: '', otherSecure: '', plain: '' };

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

/** `/to?url=<location>` redirects there; `/fail` answers 503; anything else 200. */
function handler(log: Seen[]) {
  return (req: IncomingMessage, res: ServerResponse) => {
    log.push({ path: req.url!, headers: req.headers });
    const url = new URL(req.url!, 'http://x');
    if (url.pathname === '/to') return void res.writeHead(302, { location: url.searchParams.get('url')! }).end();
    if (url.pathname === '/fail') return void res.writeHead(503).end('unavailable');
    res.end('ok');
  };
}

const redirect = (from: string, to: string) => `${from}/to?url=${encodeURIComponent(to)}`;
const hitsTo = (log: Seen[], path: string) => log.filter((s) => s.path.startsWith(path));

async function waitForState(uid: string, state: string): Promise<Record<string, unknown>> {
  await waitFor(`check ${uid} to be ${state}`, async () => (await checkRow(t.pool, uid)).state === state, { timeoutMs: 30_000, intervalMs: 200 });
  return checkRow(t.pool, uid);
}

beforeAll(async () => {
  t = await startDatabase();
  const ca = await TestCertificateAuthority.create(await mkdtemp(join(tmpdir(), 'vigil-redirects-')), 'redirects-ca');
  const issued = await ca.issue('loopback', { subject: '/CN=127.0.0.1', ipAddresses: ['127.0.0.1'], usage: 'server' });
  const tls = { cert: await readFile(issued.cert), key: await readFile(issued.key) };
  origins.secure = `https://127.0.0.1:${await loopback.listen(createHttpsServer(tls, handler(seen.secure)))}`;
  origins.otherSecure = `https://127.0.0.1:${await loopback.listen(createHttpsServer(tls, handler(seen.otherSecure)))}`;
  origins.plain = `http://127.0.0.1:${await loopback.listen(createHttpServer(handler(seen.plain)))}`;
  await addReceiver(t.pool, 'everyone');
  prober = await startProber(t.db.url, 'redirects-prober', { NODE_EXTRA_CA_CERTS: ca.cert });
});

afterAll(async () => {
  if (prober) expect(await prober.stop()).toBe(0);
  await loopback.closeAll();
  await t?.pool.end();
  await t?.server.destroy();
});

describe('redirects', () => {
  it("keep the check's headers on a same-origin redirect", async () => {
    const uid = await insertCheck(t.pool, { url: redirect(origins.secure, '/same-landing'), headers: CREDENTIALS });
    await waitForState(uid, 'up');
    const landed = hitsTo(seen.secure, '/same-landing');
    expect(landed.length).toBeGreaterThan(0);
    expect(landed[0]!.headers).toMatchObject({ authorization: CREDENTIALS.Authorization, cookie: CREDENTIALS.Cookie, 'x-api-key': CREDENTIALS['X-Api-Key'] });
  });

  it('send none of them to another origin (another port), while the first hop got them', async () => {
    const uid = await insertCheck(t.pool, { url: redirect(origins.secure, `${origins.otherSecure}/cross-landing`), headers: CREDENTIALS });
    await waitForState(uid, 'up');
    const first = hitsTo(seen.secure, '/to?url=' + encodeURIComponent(`${origins.otherSecure}/cross-landing`));
    expect(first[0]!.headers).toMatchObject({ authorization: CREDENTIALS.Authorization });
    const landed = hitsTo(seen.otherSecure, '/cross-landing');
    expect(landed.length).toBeGreaterThan(0);
    for (const hit of landed) {
      expect(hit.headers.authorization).toBeUndefined();
      expect(hit.headers.cookie).toBeUndefined();
      expect(hit.headers['x-api-key']).toBeUndefined();
      expect(JSON.stringify(hit.headers)).not.toContain(SECRET);
    }
  });

  it('refuse https → http with InsecureRedirect, naming the rule, and never reach the http target', async () => {
    const uid = await insertCheck(t.pool, { url: redirect(origins.secure, `${origins.plain}/downgrade-landing?token=${SECRET}-location`), headers: CREDENTIALS });
    const row = await waitForState(uid, 'down');
    expect(row).toMatchObject({ last_reason: 'InsecureRedirect', last_code: 302 });
    expect(row.last_message).toBe(`redirect from https to http (${origins.plain}/downgrade-landing?token=REDACTED) refused: spec.allowInsecureRedirects is false`);
    expect((await transitionsFor(t.pool, uid)).map((r) => [r.to_state, r.reason])).toEqual([['down', 'InsecureRedirect']]);
    expect(hitsTo(seen.plain, '/downgrade-landing')).toEqual([]);
  });

  it('follow https → http when the check opts in, still without its headers', async () => {
    const uid = await insertCheck(t.pool, {
      url: redirect(origins.secure, `${origins.plain}/allowed-landing`),
      headers: CREDENTIALS,
      allowInsecureRedirects: true,
    });
    await waitForState(uid, 'up');
    const landed = hitsTo(seen.plain, '/allowed-landing');
    expect(landed.length).toBeGreaterThan(0);
    expect(JSON.stringify(landed.map((l) => l.headers))).not.toContain(SECRET);
  });
});

describe('userinfo', () => {
  it('is never stored, and the prober refuses such a check with CredentialsInUrl without sending a request', async () => {
    const before = hitsTo(seen.secure, '/userinfo').length;
    const uid = await insertCheck(t.pool, { url: `${origins.secure.replace('://', `://user:${SECRET}@`)}/userinfo` });
    expect((await checkRow(t.pool, uid)).url).toBe(`${origins.secure.replace('://', '://REDACTED@')}/userinfo`);
    const row = await waitForState(uid, 'down');
    expect(row).toMatchObject({ last_reason: 'CredentialsInUrl', last_code: 0 });
    expect(row.last_message).toMatch(/must not contain userinfo/);
    expect(hitsTo(seen.secure, '/userinfo').length).toBe(before);
  });
});

describe('a URL with a query token', () => {
  it('appears redacted in transitions and webhook bodies, and nowhere in results or messages', async () => {
    const uid = await insertCheck(t.pool, { url: `${origins.secure}/fail?token=${SECRET}-query&page=2` });
    await waitForState(uid, 'down');
    // Paused: the transition written by vigil.settle_paused_checks takes the row's URL in SQL.
    await editCheck(t.pool, uid, { paused: true });
    await waitForState(uid, 'paused');

    const transitions = await t.pool.query<{ url: string; to_state: string; message: string | null }>(
      `SELECT url, to_state, message FROM vigil.transitions WHERE check_uid = $1 ORDER BY id`,
      [uid],
    );
    const redacted = `${origins.secure}/fail?token=REDACTED&page=REDACTED`;
    expect(transitions.rows.map((r) => [r.to_state, r.url])).toEqual([
      ['down', redacted],
      ['paused', redacted],
    ]);
    const deliveries = await t.pool.query<{ payload: { data: { check: { url: string } } } }>(
      `SELECT d.payload FROM vigil.webhook_deliveries d JOIN vigil.transitions tr ON tr.id = d.transition_id WHERE tr.check_uid = $1`,
      [uid],
    );
    expect(deliveries.rows.map((d) => d.payload.data.check.url)).toEqual([redacted]);

    // Nothing the prober wrote outside the check's own spec holds any secret of any check of this suite.
    const written = await t.pool.query<{ text: string }>(
      `SELECT row_to_json(tr)::text AS text FROM vigil.transitions tr
       UNION ALL SELECT payload::text FROM vigil.webhook_deliveries
       UNION ALL SELECT coalesce(message, '') FROM vigil.probe_results
       UNION ALL SELECT coalesce(last_message, '') FROM vigil.checks
       UNION ALL SELECT url FROM vigil.checks WHERE url LIKE '%REDACTED@%'`,
    );
    expect(written.rows.length).toBeGreaterThan(5);
    for (const { text } of written.rows) expect(text).not.toContain(SECRET);
  });
});

describe('stored messages', () => {
  it('are capped at 1024 characters in the results, the row and the transition', async () => {
    const uid = await insertCheck(t.pool, { url: `${origins.secure}/long`, expectBodyContains: 'z'.repeat(1500) });
    const row = await waitForState(uid, 'down');
    expect(row.last_reason).toBe('BodyMismatch');
    expect((row.last_message as string).length).toBe(1024);
    // The transition is written at once, the result with the next batch.
    await waitFor('the result row', async () => (await t.pool.query(`SELECT 1 FROM vigil.probe_results WHERE check_uid = $1`, [uid])).rowCount! > 0, {
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const lengths = await t.pool.query<{ n: number }>(
      `SELECT char_length(message) AS n FROM vigil.transitions WHERE check_uid = $1
       UNION ALL SELECT char_length(message) FROM vigil.probe_results WHERE check_uid = $1`,
      [uid],
    );
    expect(lengths.rows.length).toBeGreaterThanOrEqual(2);
    for (const { n } of lengths.rows) expect(n).toBe(1024);
  });
});
