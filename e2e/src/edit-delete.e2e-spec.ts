import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import type { CheckWebhookPayload } from '@vigil/contracts';
import { VigilStack, waitFor, type ReceivedWebhook } from '@vigil/testing';
import { checkByName, kubectlApply, listChecks } from './support/kube.js';
import { checkRows } from './support/check-rows.js';

// Scenarios 2 (edit to fix) and 3 (delete): a user changes and removes checks
// with kubectl, and the whole system follows.
let stack: VigilStack;

beforeAll(async () => {
  stack = await VigilStack.start();
});

afterAll(async () => {
  await stack?.stop();
});

function checkYaml(name: string, url: string, namespace = 'default'): string {
  return JSON.stringify({
    apiVersion: 'vigil.dev/v1alpha1',
    kind: 'UptimeCheck',
    metadata: { name, namespace },
    spec: { url, interval: '5s', timeout: '2s' },
  });
}

type TransitionPayload = CheckWebhookPayload;

describe('edit to fix', () => {
  it('turns a down check up: check.up webhook, status, Ready condition and an Up Event', async () => {
    await kubectlApply(stack.plane, ['-f', '-'], checkYaml('fix-me', 'https://broken.invalid'));
    await waitFor('fix-me to be down', async () => (await checkByName(stack.plane, 'default', 'fix-me'))?.status?.state === 'down', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const uid = (await checkByName(stack.plane, 'default', 'fix-me'))!.metadata.uid!;

    const patched = await stack.plane.kubectl(['patch', 'uc', 'fix-me', '-n', 'default', '--type', 'merge', '-p', '{"spec":{"url":"https://example.com"}}']);
    expect(patched.code).toBe(0);

    const upFor = (r: ReceivedWebhook) => {
      const p = r.payload as TransitionPayload | undefined;
      return p?.type === 'check.up' && p.data.check.uid === uid;
    };
    await waitFor('a check.up webhook for fix-me', () => stack.receiver.received.some(upFor), { timeoutMs: 60_000, intervalMs: 200 });
    const ups = stack.receiver.received.filter(upFor);
    expect(ups.every((r) => r.verified)).toBe(true);
    // At-least-once: any repeat carries the same webhook-id.
    expect(new Set(ups.map((r) => r.id)).size).toBe(1);
    expect((ups[0]!.payload as TransitionPayload).data).toMatchObject({
      check: { namespace: 'default', name: 'fix-me', uid, url: 'https://example.com' },
      from: 'down',
      to: 'up',
    });

    await waitFor('fix-me to be up in its status', async () => (await checkByName(stack.plane, 'default', 'fix-me'))?.status?.state === 'up', {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    const waited = await stack.plane.kubectl(['wait', '--for=condition=Ready', 'uc/fix-me', '-n', 'default', '--timeout=60s']);
    expect(waited.code).toBe(0);
    const status = (await checkByName(stack.plane, 'default', 'fix-me'))!.status!;
    expect(status).toMatchObject({ state: 'up', code: 200 });
    expect(status.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'True' });

    let described = '';
    await waitFor(
      'an Up Event in kubectl describe',
      async () => {
        described = (await stack.plane.kubectl(['describe', 'uc', 'fix-me', '-n', 'default'])).stdout;
        return /Normal\s+Up\s/.test(described);
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(described).toMatch(/Normal\s+Up\s/);
  });
});

describe('delete', () => {
  it('stops probing a deleted check within about a second', async () => {
    const host = `doomed-${randomBytes(3).toString('hex')}.example.net`;
    const address = `127.${1 + (randomBytes(1)[0]! % 250)}.${randomBytes(1)[0]! % 250}.20`;
    const target = await stack.addSite(host, address);
    await kubectlApply(stack.plane, ['-f', '-'], checkYaml('doomed', `https://${host}/`));
    await waitFor('doomed to be up after two probes', async () => target.requests.length >= 2 && (await checkByName(stack.plane, 'default', 'doomed'))?.status?.state === 'up', {
      timeoutMs: 60_000,
      intervalMs: 200,
    });

    const deleted = await stack.plane.kubectl(['delete', 'uc', 'doomed', '-n', 'default']);
    expect(deleted.code).toBe(0);
    await waitFor('the watcher to drop the doomed row', async () => (await checkRows(stack.db.url, 'default', 'doomed')).length === 0, {
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    const observedAt = Date.now();
    // A probe already in flight or claimed just before the delete may still land within the grace.
    const graceMs = 1_500;
    // The bounded window: three intervals of 5 s with no probe at all.
    await new Promise((r) => setTimeout(r, 15_000));
    const late = target.requests.filter((r) => r.at > observedAt + graceMs);
    expect(late).toEqual([]);
  });

  it('completes deleting a namespace holding checks, and its rows disappear', async () => {
    const namespace = `doomed-${randomBytes(3).toString('hex')}`;
    expect((await stack.plane.kubectl(['create', 'namespace', namespace])).code).toBe(0);
    await kubectlApply(stack.plane, ['-f', '-'], [checkYaml('one', 'https://example.com', namespace), checkYaml('two', 'https://github.com', namespace)].join('\n'));
    await waitFor('both rows stored', async () => (await checkRows(stack.db.url, namespace)).length === 2, { timeoutMs: 30_000, intervalMs: 200 });
    await waitFor('both probed', async () => (await listChecks(stack.plane, namespace)).filter((c) => c.status?.state === 'up').length === 2, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });

    const deleted = await stack.plane.kubectl(['delete', 'namespace', namespace, '--timeout=60s']);
    expect(deleted.code).toBe(0);
    const gone = await stack.plane.kubectl(['get', 'namespace', namespace]);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('NotFound');
    await waitFor('the namespace rows to disappear', async () => (await checkRows(stack.db.url, namespace)).length === 0, { timeoutMs: 30_000, intervalMs: 200 });
  });
});
