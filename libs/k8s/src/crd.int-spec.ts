import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { ApiException, ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, PatchStrategy, loadYaml, setHeaderOptions } from '@kubernetes/client-node';
import { ControlPlane, WORKSPACE_ROOT, waitFor } from '@vigil/testing';
import { loadUptimeCheckCrd } from './crd.js';
import { UPTIME_CHECK, type UptimeCheck } from './uptime-check.js';

let plane: ControlPlane;
let objects: CustomObjectsApi;
const namespace = 'crd-test';

function check(name: string, spec: Record<string, unknown>): object {
  return { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name, namespace }, spec };
}

async function create(body: object): Promise<UptimeCheck> {
  return (await objects.createNamespacedCustomObject({
    group: UPTIME_CHECK.group,
    version: UPTIME_CHECK.version,
    namespace,
    plural: UPTIME_CHECK.plural,
    body,
  })) as UptimeCheck;
}

/** The API server's refusal message for `spec`, or a failure if it was accepted. */
async function refusal(name: string, spec: Record<string, unknown>): Promise<string> {
  try {
    await create(check(name, spec));
  } catch (err) {
    expect(err).toBeInstanceOf(ApiException);
    const e = err as ApiException<string>;
    expect(e.code).toBe(422);
    return (JSON.parse(e.body) as { message: string }).message;
  }
  throw new Error(`the API server accepted an invalid check: ${JSON.stringify(spec)}`);
}

beforeAll(async () => {
  plane = await ControlPlane.start();
  const kc = plane.kubeConfig();
  await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd(WORKSPACE_ROOT) });
  await waitFor('the UptimeCheck CRD to be established', async () => {
    const crd = await kc.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name: UPTIME_CHECK.crdName });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
  objects = kc.makeApiClient(CustomObjectsApi);
  // Discovery for a new CRD can trail its Established condition by a moment.
  await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
});

afterAll(async () => {
  await plane?.stop();
});

describe('the UptimeCheck CRD on a real API server', () => {
  it('is read from the chart in this checkout, found by its nx.json when no root is given', async () => {
    const crd = await loadUptimeCheckCrd();
    expect(crd).toEqual(await loadUptimeCheckCrd(WORKSPACE_ROOT));
    expect(crd.metadata?.name).toBe(UPTIME_CHECK.crdName);
  });

  it('accepts a minimal check and fills in every default', async () => {
    const created = await create(check('minimal', { url: 'https://example.com/health' }));
    expect(created.spec).toEqual({
      url: 'https://example.com/health',
      method: 'GET',
      interval: '30s',
      timeout: '10s',
      expect: { statusCodes: ['200-399'] },
      failureThreshold: 1,
      successThreshold: 1,
      paused: false,
      allowInsecureRedirects: false,
      statusPage: { publish: true },
    });
  });

  it('accepts a fully specified check as written', async () => {
    const spec = {
      url: 'http://10.0.0.1:8080/ready',
      method: 'HEAD',
      headers: { 'X-Probe': 'vigil' },
      interval: '1h30m',
      timeout: '500ms',
      expect: { statusCodes: ['200', '300-308'], bodyContains: 'ok' },
      failureThreshold: 3,
      successThreshold: 2,
      paused: true,
      allowInsecureRedirects: true,
      statusPage: { publish: false, displayName: 'Internal', group: 'Backends' },
    };
    expect((await create(check('full', spec))).spec).toEqual(spec);
  });

  it.each([
    { what: 'an ftp URL', spec: { url: 'ftp://example.com/file' }, field: 'spec.url', text: 'must be an absolute http:// or https:// URL with a host' },
    { what: 'a URL without a scheme', spec: { url: 'example.com' }, field: 'spec.url', text: 'must be an absolute http:// or https:// URL with a host' },
    { what: 'an interval of 1s', spec: { url: 'https://example.com', interval: '1s' }, field: 'spec.interval', text: 'must be between 5s and 24h' },
    { what: 'an interval of 25h', spec: { url: 'https://example.com', interval: '25h' }, field: 'spec.interval', text: 'must be between 5s and 24h' },
    { what: 'an interval that is not a duration', spec: { url: 'https://example.com', interval: 'often' }, field: 'spec.interval', text: 'should match' },
    { what: 'a timeout equal to the interval', spec: { url: 'https://example.com', interval: '10s', timeout: '10s' }, field: 'spec.timeout', text: 'timeout must be less than interval' },
    { what: 'a timeout above the default interval', spec: { url: 'https://example.com', timeout: '45s' }, field: 'spec.timeout', text: 'timeout must be less than interval' },
    { what: 'a failure threshold of 0', spec: { url: 'https://example.com', failureThreshold: 0 }, field: 'spec.failureThreshold', text: 'greater than or equal to 1' },
    { what: 'a success threshold of 11', spec: { url: 'https://example.com', successThreshold: 11 }, field: 'spec.successThreshold', text: 'less than or equal to 10' },
    { what: 'a garbage status code', spec: { url: 'https://example.com', expect: { statusCodes: ['2xx'] } }, field: 'spec.expect.statusCodes[0]', text: 'should match' },
    { what: 'a status code of 600', spec: { url: 'https://example.com', expect: { statusCodes: ['600'] } }, field: 'spec.expect.statusCodes[0]', text: 'should match' },
    { what: 'an inverted status range', spec: { url: 'https://example.com', expect: { statusCodes: ['399-200'] } }, field: 'spec.expect.statusCodes[0]', text: 'low <= high' },
    { what: 'an unknown method', spec: { url: 'https://example.com', method: 'BREW' }, field: 'spec.method', text: 'Unsupported value' },
    { what: 'a header name with a space', spec: { url: 'https://example.com', headers: { 'Bad Name': 'x' } }, field: 'spec.headers', text: 'header names must be HTTP tokens' },
    { what: 'no URL at all', spec: { interval: '30s' }, field: 'spec.url', text: 'Required value' },
    { what: 'userinfo in the URL', spec: { url: 'https://user:secret@example.com/health' }, field: 'spec.url', text: 'url must not contain userinfo (user:password@): put credentials in headers, e.g. Authorization' },
    { what: 'a user name alone in the URL', spec: { url: 'http://admin@example.com' }, field: 'spec.url', text: 'url must not contain userinfo' },
    { what: 'an empty userinfo', spec: { url: 'https://@example.com' }, field: 'spec.url', text: 'url must not contain userinfo' },
  ])('refuses $what, naming $field', async ({ spec, field, text }) => {
    const message = await refusal(`bad-${Math.random().toString(36).slice(2, 8)}`, spec);
    expect(message).toContain(field);
    expect(message).toContain(text);
  });

  // A control character in a stored check reaches Postgres (which refuses NUL
  // in text) and the status page: the API server refuses it in every string.
  const CONTROL = [
    { name: 'NUL', char: '\u0000' },
    { name: 'a newline', char: '\n' },
    { name: 'ESC', char: '\u001b' },
    { name: 'DEL', char: '\u007f' },
  ];
  const stringFields = [
    { field: 'spec.url', text: 'url must not contain control characters', spec: (c: string) => ({ url: `https://example.com/${c}` }) },
    { field: 'spec.headers', text: 'header values must not contain control characters', spec: (c: string) => ({ url: 'https://example.com', headers: { 'X-Probe': `vi${c}gil` } }) },
    { field: 'spec.headers', text: 'header names must be HTTP tokens', spec: (c: string) => ({ url: 'https://example.com', headers: { [`X-Pro${c}be`]: 'vigil' } }) },
    { field: 'spec.expect.bodyContains', text: 'bodyContains must not contain control characters', spec: (c: string) => ({ url: 'https://example.com', expect: { bodyContains: `o${c}k` } }) },
    { field: 'spec.statusPage.displayName', text: 'displayName must not contain control characters', spec: (c: string) => ({ url: 'https://example.com', statusPage: { displayName: `Shop${c}` } }) },
    { field: 'spec.statusPage.group', text: 'group must not contain control characters', spec: (c: string) => ({ url: 'https://example.com', statusPage: { group: `${c}Backends` } }) },
    { field: 'spec.interval', text: 'should match', spec: (c: string) => ({ url: 'https://example.com', interval: `30s${c}` }) },
  ];
  it.each(stringFields.flatMap((f) => CONTROL.map((c) => ({ ...f, control: c.name, char: c.char }))))(
    'refuses $control in $field with "$text"',
    async ({ spec, char, field, text }) => {
      const message = await refusal(`ctl-${Math.random().toString(36).slice(2, 8)}`, spec(char));
      expect(message).toContain(field);
      expect(message).toContain(text);
    },
  );

  it('accepts non-ASCII text: only control characters are refused', async () => {
    const spec = { url: 'https://example.com/säule', statusPage: { displayName: 'Köln — Shop ✓', group: '東京' }, expect: { bodyContains: 'grüß' } };
    expect((await create(check('unicode', spec))).spec).toMatchObject(spec);
  });

  it.each(['Host', 'host', 'Connection', 'Keep-Alive', 'Proxy-Connection', 'Transfer-Encoding', 'transfer-encoding', 'Upgrade', 'TE', 'Trailer', 'Proxy-Authorization', 'Proxy-Authenticate', 'Content-Length'])(
    'refuses the %s header, naming it',
    async (name) => {
      const message = await refusal(`hdr-${Math.random().toString(36).slice(2, 8)}`, { url: 'https://example.com', headers: { 'X-Probe': 'vigil', [name]: 'x' } });
      expect(message).toContain('spec.headers');
      expect(message).toContain(`header ${name} is not allowed in headers`);
    },
  );

  it('accepts ordinary headers, including ones that merely contain a forbidden name', async () => {
    const headers = { Authorization: 'Bearer t', 'X-Host': 'a', 'X-Forwarded-Host': 'b', 'Te-Extra': 'c', Accept: 'text/plain' };
    expect((await create(check('ordinary-headers', { url: 'https://example.com', headers }))).spec.headers).toEqual(headers);
  });

  it('accepts an @ after the host: only userinfo is refused', async () => {
    const url = 'https://example.com/users/@me?mail=a@example.org#x@y';
    expect((await create(check('at-in-path', { url }))).spec.url).toBe(url);
  });

  it('caps the timeout at 60s, naming the field', async () => {
    const message = await refusal('timeout-61s', { url: 'https://example.com', interval: '5m', timeout: '61s' });
    expect(message).toContain('spec.timeout');
    expect(message).toContain('timeout must be at most 60s');
    expect((await create(check('timeout-60s', { url: 'https://example.com', interval: '5m', timeout: '60s' }))).spec.timeout).toBe('60s');
  });

  it('keeps status behind the status subresource', async () => {
    const created = await create(check('status-sub', { url: 'https://example.com' }));
    const common = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, namespace, plural: UPTIME_CHECK.plural, name: 'status-sub' };
    // A status sent to the main resource is dropped...
    const replaced = (await objects.replaceNamespacedCustomObject({ ...common, body: { ...created, status: { state: 'up' } } })) as UptimeCheck;
    expect(replaced.status).toBeUndefined();
    // ...and written only through /status, without bumping the generation.
    const patched = (await objects.patchNamespacedCustomObjectStatus({
      ...common,
      body: { status: { state: 'down', code: 0, latencyMs: 3002, since: '2026-06-06T22:41:07Z', reason: 'DNSFailure' } },
    }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))) as UptimeCheck;
    expect(patched.status).toMatchObject({ state: 'down', code: 0, reason: 'DNSFailure' });
    expect(patched.metadata.generation).toBe(created.metadata.generation);
  });

  it('is listed by kubectl with exactly the seed columns, by name, short name and category', async () => {
    const examples = await readdir(new URL('examples/', `file://${WORKSPACE_ROOT}`));
    for (const file of examples.filter((f) => f.endsWith('.yaml'))) {
      const doc = loadYaml<object>(await readFile(new URL(`examples/${file}`, `file://${WORKSPACE_ROOT}`), 'utf8'));
      await create({ ...doc, metadata: { ...(doc as UptimeCheck).metadata, namespace } });
    }
    for (const resource of ['uptimechecks', 'uc', 'vigil']) {
      const result = await plane.kubectl(['get', resource, '-n', namespace]);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      const [header, ...rows] = result.stdout.trim().split('\n');
      expect(header!.split(/\s+/)).toEqual(['NAME', 'URL', 'STATE', 'CODE', 'LATENCY(MS)', 'SINCE', 'AGE']);
      expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual(
        expect.arrayContaining([
          ['always-down', 'https://broken.invalid'],
          ['example', 'https://example.com'],
          ['github', 'https://github.com'],
        ]),
      );
    }
    // A status written by Vigil shows in the columns.
    const row = (await plane.kubectl(['get', 'uc', 'status-sub', '-n', namespace, '--no-headers'])).stdout.trim().split(/\s+/);
    expect(row.slice(0, 6)).toEqual(['status-sub', 'https://example.com', 'down', '0', '3002', '2026-06-06T22:41:07Z']);
  });
});
