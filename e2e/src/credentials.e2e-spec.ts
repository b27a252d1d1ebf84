import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckWebhookPayload } from '@vigil/contracts';
import { HttpTarget, VigilStack, waitFor } from '@vigil/testing';
import { checkByName, kubectlApply } from './support/kube.js';
import { queryRows } from './support/check-rows.js';

// Credentials stay with their check, through the whole system: a token in a
// check's URL is shown redacted wherever the check's result goes (transitions,
// webhooks received by a real receiver, Events, the api, the services' debug
// logs); its headers never reach another origin; https → http is refused
// unless the check opts in.
const SECRET = 'S3CRET-e2e';
let stack: VigilStack;
let net = '';
let plain: HttpTarget;
const sites: Record<string, HttpTarget> = {};

beforeAll(async () => {
  stack = await VigilStack.start({ env: { api: { STATUS_PAGE_SHOW_URLS: 'true' } } });
  // The stack's sites live on 127.a.b.2 and .3: ours next to them.
  net = stack.sites.get('example.com')!.host.replace(/\.\d+$/, '');
  let host = 20;
  for (const name of ['leaky', 'downgrade', 'hop', 'landing']) sites[name] = await stack.addSite(`${name}.vigil.test`, `${net}.${host++}`);
  plain = await HttpTarget.start({ host: `${net}.${host}` });
});

afterAll(async () => {
  await plain?.stop();
  await stack?.stop();
});

function apply(name: string, spec: Record<string, unknown>): Promise<string> {
  const doc = { apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name, namespace: 'default' }, spec: { interval: '5s', timeout: '2s', ...spec } };
  return kubectlApply(stack.plane, ['-f', '-'], JSON.stringify(doc));
}

async function waitForStatus(name: string, state: string, reason?: string) {
  await waitFor(
    `${name} ${state}${reason ? ` (${reason})` : ''}`,
    async () => {
      const status = (await checkByName(stack.plane, 'default', name))?.status;
      return status?.state === state && (reason === undefined || status.reason === reason);
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  return (await checkByName(stack.plane, 'default', name))!.status!;
}

const authorization = `Bearer ${SECRET}-auth`;

describe('a token in the URL', () => {
  const url = `https://leaky.vigil.test/health?token=${SECRET}-query`;
  const redacted = 'https://leaky.vigil.test/health?token=REDACTED';

  beforeAll(async () => {
    sites.leaky!.set({ kind: 'respond', status: 503, body: 'unavailable' });
    await apply('leaky', { url });
    await waitForStatus('leaky', 'down', 'UnexpectedStatus');
  });

  it('is probed as written: the target receives the token', () => {
    expect(sites.leaky!.requests.some((r) => r.path === `/health?token=${SECRET}-query`)).toBe(true);
  });

  it('is redacted in the transition log and the webhook the receiver got', async () => {
    const transitions = await queryRows<{ url: string }>(stack.db.url, `SELECT url FROM vigil.transitions WHERE name = 'leaky'`);
    expect(transitions.map((t) => t.url)).toEqual([redacted]);
    await waitFor('the check.down webhook for leaky', () =>
      stack.receiver.uniqueVerified().some((w) => (w.payload as CheckWebhookPayload).data.check.name === 'leaky'),
    { timeoutMs: 30_000 });
    const hooks = stack.receiver.received.filter((w) => w.body.includes('"leaky"'));
    expect(hooks.length).toBeGreaterThan(0);
    for (const hook of hooks) {
      expect((hook.payload as CheckWebhookPayload).data.check.url).toBe(redacted);
      expect(hook.body).not.toContain(SECRET);
    }
  });

  it('is redacted in the Event on the object', async () => {
    let messages: string[] = [];
    await waitFor('a Down event on leaky', async () => {
      const result = await stack.plane.kubectl(['get', 'events', '-n', 'default', '--field-selector', 'involvedObject.name=leaky', '-o', 'json']);
      messages = (JSON.parse(result.stdout) as { items: Array<{ reason: string; message: string }> }).items.filter((e) => e.reason === 'Down').map((e) => e.message);
      return messages.length > 0;
    }, { timeoutMs: 30_000 });
    expect(messages[0]).toContain(redacted);
    for (const message of messages) expect(message).not.toContain(SECRET);
  });

  it('is redacted in every api response that shows the target', async () => {
    const detail = (await (await fetch(`${stack.apiUrl}/api/v1/checks/default/leaky`)).json()) as { url: string };
    expect(detail.url).toBe(redacted);
    for (const path of ['/api/v1/checks', '/api/v1/checks?include=history', '/api/v1/checks/default/leaky', '/api/v1/checks/default/leaky/events', '/api/v1/events', '/api/v1/summary']) {
      const response = await fetch(`${stack.apiUrl}${path}`);
      expect([path, response.status]).toEqual([path, 200]);
      expect([path, await response.text()]).not.toEqual([path, expect.stringContaining(SECRET)]);
    }
  });
});

describe('redirects', () => {
  it('refuse https → http with InsecureRedirect, then follow it once the check opts in, never sending its headers there', async () => {
    sites.downgrade!.set({ kind: 'redirect', location: `${plain.url('/landing')}?token=${SECRET}-location` });
    await apply('downgrade', { url: 'https://downgrade.vigil.test/', headers: { Authorization: authorization } });
    const refused = await waitForStatus('downgrade', 'down', 'InsecureRedirect');
    expect(refused.message).toBe(`redirect from https to http (${plain.url('/landing')}?token=REDACTED) refused: spec.allowInsecureRedirects is false`);
    expect(plain.requests).toEqual([]);

    await apply('downgrade', { url: 'https://downgrade.vigil.test/', headers: { Authorization: authorization }, allowInsecureRedirects: true });
    await waitForStatus('downgrade', 'up');
    expect(plain.requests.length).toBeGreaterThan(0);
    for (const r of plain.requests) expect(r.headers.authorization).toBeUndefined();
    expect(sites.downgrade!.requests.every((r) => r.headers.authorization === authorization)).toBe(true);
  });

  it("send the check's headers to its own origin only", async () => {
    sites.hop!.set({ kind: 'redirect', location: 'https://landing.vigil.test/welcome' });
    await apply('hop', { url: 'https://hop.vigil.test/', headers: { Authorization: authorization, Cookie: `sid=${SECRET}-cookie` } });
    await waitForStatus('hop', 'up');
    expect(sites.hop!.requests[0]!.headers).toMatchObject({ authorization, cookie: `sid=${SECRET}-cookie` });
    expect(sites.landing!.requests.length).toBeGreaterThan(0);
    for (const r of sites.landing!.requests) expect(JSON.stringify(r.headers)).not.toContain(SECRET);
  });
});

describe('userinfo', () => {
  it('is refused by the API server, naming the rule', async () => {
    const doc = { apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name: 'userinfo', namespace: 'default' }, spec: { url: `https://me:${SECRET}@leaky.vigil.test/` } };
    const applied = await stack.plane.kubectl(['apply', '-f', '-'], { stdin: JSON.stringify(doc) });
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('spec.url');
    expect(applied.stderr).toContain('url must not contain userinfo (user:password@)');
  });
});

describe('the services', () => {
  it('never wrote a secret to their logs (at debug level)', async () => {
    const files = (await readdir(stack.logDir)).filter((f) => f.endsWith('.log'));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) {
      const text = await readFile(join(stack.logDir, file), 'utf8');
      expect([file, text.includes(SECRET)]).toEqual([file, false]);
    }
  });
});
