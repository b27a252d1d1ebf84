import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilStack, WORKSPACE_ROOT, launchChromium, waitFor } from '@vigil/testing';
import { checkByName, kubectlApply, listChecks } from './support/kube.js';

// Scenario 1, the seed's demo: `kubectl apply -f examples/` and, within
// seconds, the checks show their live state in kubectl and on the status page.
let stack: VigilStack;
const ARTIFACTS = join(WORKSPACE_ROOT, 'test-artifacts', 'e2e');

beforeAll(async () => {
  stack = await VigilStack.start();
});

afterAll(async () => {
  await stack?.stop();
});

describe("the seed's demo", () => {
  it('shows example and github up and always-down down, in kubectl', async () => {
    await kubectlApply(stack.plane, ['-n', 'default', '-f', join(WORKSPACE_ROOT, 'examples/')]);
    await waitFor(
      'example and github up, always-down down',
      async () => {
        const states = Object.fromEntries((await listChecks(stack.plane, 'default')).map((c) => [c.metadata.name, c.status?.state]));
        return states.example === 'up' && states.github === 'up' && states['always-down'] === 'down';
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const example = await checkByName(stack.plane, 'default', 'example');
    expect(example?.status).toMatchObject({ state: 'up', code: 200 });
    expect(example?.status?.latencyMs).toEqual(expect.any(Number));
    const down = await checkByName(stack.plane, 'default', 'always-down');
    expect(down?.status).toMatchObject({ state: 'down', code: 0, reason: 'DNSFailure' });

    const table = await stack.plane.kubectl(['get', 'uptimechecks', '-n', 'default']);
    const rows = table.stdout.trim().split('\n').map((l) => l.split(/\s+/));
    expect(rows[0]).toEqual(['NAME', 'URL', 'STATE', 'CODE', 'LATENCY(MS)', 'SINCE', 'AGE']);
    const byName = Object.fromEntries(rows.slice(1).map((r) => [r[0], r]));
    expect(byName['always-down']!.slice(1, 4)).toEqual(['https://broken.invalid', 'down', '0']);
    expect(byName.example!.slice(1, 4)).toEqual(['https://example.com', 'up', '200']);
    expect(byName.github!.slice(1, 4)).toEqual(['https://github.com', 'up', '200']);
  });

  it('shows the same on the status page, in real Chromium', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(stack.apiUrl);
      for (const name of ['Example', 'GitHub', 'Always down']) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(ARTIFACTS, 'demo-desktop.png'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: join(ARTIFACTS, 'demo-phone.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
