import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CheckWebhookPayload } from '@vigil/contracts';
import { HttpTarget, VigilStack, waitFor, type ReceivedWebhook } from '@vigil/testing';
import { checkByName, kubectlApply, listChecks } from './support/kube.js';
import { queryRows } from './support/check-rows.js';

// Scenario 7, bad input everywhere: invalid CRs, garbage API parameters, a
// receiver answering garbage and misbehaving targets all get clear errors,
// and no service crashes.
let stack: VigilStack;
const targets: HttpTarget[] = [];

beforeAll(async () => {
  // Quick retries, so a failing receiver is retried within the test.
  stack = await VigilStack.start({ env: { alerter: { WEBHOOK_RETRY_SCHEDULE: Array(20).fill('1s').join(',') } } });
});

afterAll(async () => {
  await Promise.all(targets.map((t) => t.stop()));
  await stack?.stop();
});

function check(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name, namespace: 'default' }, spec });
}

describe('invalid UptimeChecks', () => {
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['no-url', { interval: '30s' }, ['spec.url', 'Required value']],
    ['ftp-url', { url: 'ftp://example.com/file' }, ['spec.url', 'must be an absolute http:// or https:// URL with a host']],
    ['fast-interval', { url: 'https://example.com', interval: '1s' }, ['spec.interval', 'must be between 5s and 24h']],
    ['slow-timeout', { url: 'https://example.com', interval: '5s', timeout: '10s' }, ['spec.timeout', 'timeout must be less than interval']],
    ['bad-method', { url: 'https://example.com', method: 'FETCH' }, ['spec.method', 'Unsupported value: "FETCH"']],
    ['bad-codes', { url: 'https://example.com', expect: { statusCodes: ['600'] } }, ['spec.expect.statusCodes[0]']],
    ['bad-threshold', { url: 'https://example.com', failureThreshold: 0 }, ['spec.failureThreshold', 'should be greater than or equal to 1']],
  ];

  it.each(cases)('refuses %s with a message naming the field', async (name, spec, expected) => {
    const applied = await stack.plane.kubectl(['apply', '-f', '-'], { stdin: check(name, spec) });
    expect(applied.code).not.toBe(0);
    expect(applied.stderr).toContain('is invalid');
    for (const text of expected) expect(applied.stderr).toContain(text);
    expect((await listChecks(stack.plane, 'default')).map((c) => c.metadata.name)).not.toContain(name);
  });
});

describe('garbage API parameters', () => {
  const cases: Array<[string, number]> = [
    ['/api/v1/checks?limit=-1', 400],
    ['/api/v1/checks?limit=abc', 400],
    ['/api/v1/checks?limit=100000', 400],
    ['/api/v1/checks?offset=99999999999999999999', 400],
    ['/api/v1/checks?offset=1.5', 400],
    ['/api/v1/checks?state=sideways', 400],
    ['/api/v1/checks?include=everything', 400],
    ['/api/v1/checks/%ff%fe/x', 400],
    // A NUL byte can be in no Kubernetes name and must never reach Postgres.
    ['/api/v1/checks/ns/%00', 404],
    ['/api/v1/checks/%00/x', 404],
    ['/api/v1/checks/ns/%00/events', 404],
    ['/api/v1/checks?group=%00', 400],
    ['/api/v1/deliveries/%00', 401],
    ['/api/v1/checks/default/no-such-check', 404],
    // Longer than any Kubernetes name can be.
    [`/api/v1/checks/${'n'.repeat(300)}/x`, 404],
    ['/api/v1/checks/default/no-such-check/events?limit=-5', 400],
    ['/api/v1/events?limit=100000', 400],
    ['/api/v1/no-such-endpoint', 404],
  ];

  it.each(cases)('%s answers %d with a JSON message', async (path, status) => {
    const response = await fetch(`${stack.apiUrl}${path}`);
    const text = await response.text();
    expect({ path, status: response.status, body: text }).toMatchObject({ path, status });
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { message?: unknown; statusCode?: number };
    expect(body.statusCode).toBe(status);
    expect(body.message).toBeTruthy();
    expect(JSON.stringify(body.message).length).toBeGreaterThan(5);
  });

  it('answers the largest allowed page number with an empty page', async () => {
    const response = await fetch(`${stack.apiUrl}/api/v1/checks?offset=1000000&limit=500`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ items: [], offset: 1_000_000, limit: 500, total: expect.any(Number) });
  });
});

describe('a receiver answering garbage', () => {
  it('retries the delivery until the receiver accepts it', async () => {
    const junk = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256)).toString('latin1');
    stack.receiver.behaviour = { kind: 'fail', status: 500, body: junk };
    await kubectlApply(stack.plane, ['-f', '-'], check('garbage-receiver', { url: 'https://broken.invalid', interval: '5s', timeout: '2s' }));
    await waitFor('garbage-receiver to be down', async () => (await checkByName(stack.plane, 'default', 'garbage-receiver'))?.status?.state === 'down', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const uid = (await checkByName(stack.plane, 'default', 'garbage-receiver'))!.metadata.uid!;
    const forCheck = (r: ReceivedWebhook) => (r.payload as CheckWebhookPayload | undefined)?.data?.check?.uid === uid;

    await waitFor('three refused attempts', () => stack.receiver.received.filter(forCheck).length >= 3, { timeoutMs: 60_000, intervalMs: 100 });
    stack.receiver.behaviour = { kind: 'accept' };
    const refused = stack.receiver.received.filter(forCheck);
    const id = refused[0]!.id;
    expect(refused.every((r) => r.verified && r.id === id)).toBe(true);

    const [delivery] = await waitForDelivered(id);
    expect(delivery).toMatchObject({ status: 'delivered', event_type: 'check.down' });
    expect(delivery!.attempts).toBeGreaterThanOrEqual(4);
    const attempts = await queryRows<{ status_code: number | null }>(
      stack.db.url,
      'SELECT status_code FROM vigil.webhook_attempts WHERE delivery_id = $1 ORDER BY attempt',
      [id],
    );
    expect(attempts.slice(0, 3).map((a) => a.status_code)).toEqual([500, 500, 500]);
    expect(attempts.at(-1)!.status_code).toBe(204);
    // The delivered attempt came after the receiver switched to accepting.
    expect(stack.receiver.received.filter(forCheck).length).toBeGreaterThan(refused.length);
  });
});

async function waitForDelivered(id: string): Promise<Array<{ status: string; event_type: string; attempts: number }>> {
  let rows: Array<{ status: string; event_type: string; attempts: number }> = [];
  await waitFor(
    `delivery ${id} to be delivered`,
    async () => {
      rows = await queryRows(stack.db.url, 'SELECT status, event_type, attempts FROM vigil.webhook_deliveries WHERE id = $1', [id]);
      return rows[0]?.status === 'delivered';
    },
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return rows;
}

describe('misbehaving targets', () => {
  it('takes hanging, resetting and redirect-looping targets down with a reason', async () => {
    const hang = await HttpTarget.start({ behaviour: { kind: 'hang' } });
    const reset = await HttpTarget.start({ behaviour: { kind: 'reset' } });
    const loop = await HttpTarget.start();
    loop.set({ kind: 'redirect', location: loop.url('/again') });
    targets.push(hang, reset, loop);
    const expected = { 'target-hang': 'Timeout', 'target-reset': 'ConnectionReset', 'target-loop': 'TooManyRedirects' };
    // No response at all, or the last hop's status when the redirects ran out.
    const codes = { 'target-hang': 0, 'target-reset': 0, 'target-loop': 302 };
    await kubectlApply(
      stack.plane,
      ['-f', '-'],
      [
        check('target-hang', { url: hang.url('/'), interval: '5s', timeout: '1s' }),
        check('target-reset', { url: reset.url('/'), interval: '5s', timeout: '2s' }),
        check('target-loop', { url: loop.url('/'), interval: '5s', timeout: '2s' }),
      ].join('\n'),
    );
    let reasons: Record<string, string | undefined> = {};
    await waitFor(
      'the three checks to be down',
      async () => {
        const checks = await listChecks(stack.plane, 'default');
        reasons = Object.fromEntries(
          checks.filter((c) => c.metadata.name in expected && c.status?.state === 'down').map((c) => [c.metadata.name, c.status?.reason]),
        );
        return Object.keys(reasons).length === 3;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(reasons).toEqual(expected);
    for (const [name, code] of Object.entries(codes)) {
      expect((await checkByName(stack.plane, 'default', name))!.status).toMatchObject({ state: 'down', code, reason: expected[name as keyof typeof expected] });
    }
    // The redirect loop was followed, then given up.
    expect(loop.requests.length).toBeGreaterThanOrEqual(6);
  });

  it('leaves every service alive and ready', async () => {
    for (const [instance, service] of stack.services) {
      expect({ instance, exitCode: service.child.exitCode, signal: service.child.signalCode }).toEqual({ instance, exitCode: null, signal: null });
      const ready = await fetch(`${service.opsUrl}/readyz`);
      expect({ instance, status: ready.status }).toEqual({ instance, status: 200 });
    }
    expect([...stack.services.keys()].sort()).toEqual(['alerter-0', 'alerter-1', 'api-0', 'prober-0', 'prober-1', 'watcher-0']);
  });
});
