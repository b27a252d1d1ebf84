import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { RbacAuthorizationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { createPool, migrate, type Pool } from '@vigil/db';
import { ControlPlane, PostgresServer, WORKSPACE_ROOT, freePort, startControlPlaneAndPostgres, launchChromium, startService, waitForReady, type ServiceProcess, type TestDatabase } from '@vigil/testing';
import { startOfUtcDay, startOfUtcHour } from './checks/uptime.js';
import { insertCheck, insertDelivery, insertRollups, insertTransition, setCheckState, type RollupSeed } from './testing/seed.js';
import { audienceToken } from './testing/tokens.js';

// The status page as it ships (the built service, its copied assets) in real
// headless Chromium. Screenshots go to test-artifacts/status-page/.
const REFRESH_MS = 2_000;
const ARTIFACTS = join(WORKSPACE_ROOT, 'test-artifacts', 'status-page');
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

let server: PostgresServer;
let plane: ControlPlane;
let viewerToken: string;
let db: TestDatabase;
let pool: Pool;
let api: ServiceProcess;
let browser: Browser;
let base: string;
let webUid: string;
let githubUid: string;
let downUid: string;

/** 90 days and 24 hours of rollups; `badDays` maps days-ago to an uptime fraction. */
function history(uid: string, badDays: Record<number, number>, latencyMs: number, fromDaysAgo = 89): RollupSeed[] {
  const today = startOfUtcDay(new Date()).getTime();
  const hour = startOfUtcHour(new Date()).getTime();
  const rows: RollupSeed[] = [];
  for (let ago = fromDaysAgo; ago >= 0; ago--) {
    const successes = Math.round(2880 * (badDays[ago] ?? 1));
    rows.push({ uid, granularity: 'day', start: new Date(today - ago * DAY_MS), probes: 2880, successes, latencySumMs: successes * latencyMs, latencyMaxMs: latencyMs * 3 });
  }
  // A check that is down has no successful probes, hence no latency.
  const hourlySuccesses = latencyMs > 0 ? 120 : 0;
  for (let ago = 23; ago >= 0; ago--) {
    const wobble = latencyMs + Math.round(latencyMs * 0.4 * Math.sin(ago / 2));
    rows.push({ uid, granularity: 'hour', start: new Date(hour - ago * HOUR_MS), probes: 120, successes: hourlySuccesses, latencySumMs: hourlySuccesses * wobble, latencyMaxMs: hourlySuccesses ? wobble * 2 : 0 });
  }
  return rows;
}

beforeAll(async () => {
  browser = await launchChromium();
  ({ postgres: server, plane } = await startControlPlaneAndPostgres());
  db = await server.createDatabase();
  pool = createPool({ connectionString: db.url, applicationName: 'api-test', max: 2 });
  await migrate(pool);

  const now = Date.now();
  webUid = await insertCheck(pool, { name: 'example', displayName: 'Example', group: 'Websites', state: 'up', lastLatencyMs: 89, stateSince: new Date(now - 3 * DAY_MS) });
  githubUid = await insertCheck(pool, { name: 'github', displayName: 'GitHub', group: 'Websites', state: 'up', lastLatencyMs: 142, stateSince: new Date(now - 20 * DAY_MS) });
  downUid = await insertCheck(pool, { name: 'always-down', displayName: 'Always down', group: 'Demo', state: 'down', lastReason: 'DNSFailure', stateSince: new Date(now - 40 * 60_000) });
  await insertCheck(pool, { name: 'internal', displayName: 'Internal only', group: 'Websites', publish: false });
  await insertRollups(pool, [
    ...history(webUid, { 12: 0.975, 40: 0.995, 41: 0.9 }, 89),
    ...history(githubUid, { 3: 0.999 }, 142),
    ...history(downUid, Object.fromEntries(Array.from({ length: 30 }, (_, i) => [i, 0])), 0, 29),
  ]);
  await insertTransition(pool, { uid: downUid, name: 'always-down', from: 'pending', to: 'down', at: new Date(now - 40 * 60_000), reason: 'DNSFailure' });
  const recovered = await insertTransition(pool, { uid: webUid, name: 'example', from: 'down', to: 'up', at: new Date(now - 3 * DAY_MS) });
  await insertDelivery(pool, {
    transitionId: recovered,
    receiver: 'ops-chat',
    event: 'check.up',
    status: 'delivered',
    createdAt: new Date(now - 3 * DAY_MS),
    attempts: [
      { startedAt: new Date(now - 3 * DAY_MS), durationMs: 120, statusCode: 503, responseExcerpt: 'upstream unavailable' },
      { startedAt: new Date(now - 3 * DAY_MS + 30_000), durationMs: 85, statusCode: 204 },
    ],
  });

  // Delivery logs: the api reviews tokens with its own ServiceAccount; "viewer" may get uptimechecks in default.
  const kc = plane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  for (const name of ['vigil-api', 'viewer']) await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name } } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: 'vigil-api:auth-delegator' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vigil-api', namespace: 'default' }],
    },
  });
  await rbac.createNamespacedRole({ namespace: 'default', body: { metadata: { name: 'check-reader' }, rules: [{ apiGroups: ['vigil.dev'], resources: ['uptimechecks'], verbs: ['get'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: 'default',
    body: {
      metadata: { name: 'viewer-reads-checks' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'check-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'viewer', namespace: 'default' }],
    },
  });
  viewerToken = await audienceToken(plane, 'default', 'viewer');
  const apiKubeconfig = await plane.writeTokenKubeconfig(await plane.tokenFor('default', 'vigil-api'), 'vigil-api');

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = await startService('api', { DATABASE_URL: db.url, PORT: String(port), STATUS_PAGE_REFRESH: `${REFRESH_MS}ms`, LOG_LEVEL: 'warn', KUBECONFIG: apiKubeconfig }, { opsPort: await freePort() });
  await waitForReady(api);
  await mkdir(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await api?.stop();
  await pool?.end();
  await Promise.all([server?.destroy(), plane?.stop()]);
});

async function openPage(viewport: { width: number; height: number }): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  await page.goto(base);
  await page.waitForSelector(`[data-check="${webUid}"]`);
  return { page, problems };
}

describe('the status page', () => {
  it('renders the banner, the groups and their checks with 90 labelled day bars, a sparkline and the events', async () => {
    const { page, problems } = await openPage({ width: 1280, height: 900 });
    expect(await page.textContent('#banner-title')).toBe('Partial outage');
    expect(await page.textContent('#banner-detail')).toBe('2 of 3 checks up · 1 down');
    expect(await page.$$eval('.group h2', (hs) => hs.map((h) => h.textContent))).toEqual(['Demo', 'Websites']);
    expect(await page.$$eval('.check__name', (hs) => hs.map((h) => h.textContent))).toEqual(['Always down', 'Example', 'GitHub']);
    expect(await page.content()).not.toContain('Internal only');

    const example = page.locator(`[data-check="${webUid}"]`);
    expect(await example.locator('.state').textContent()).toBe('Operational');
    const labels = await example.locator('.bar').evaluateAll((bars) => bars.map((b) => [b.getAttribute('aria-label'), b.className]));
    expect(labels).toHaveLength(90);
    // 12 days ago was 97.5%: an amber bar labelled with its date and uptime.
    expect(labels[77]![0]).toMatch(/: 97.50% uptime$/);
    expect(labels[77]![1]).toBe('bar bar--degraded');
    expect(labels[89]![1]).toBe('bar bar--ok');
    expect(await example.locator('.spark svg polyline').count()).toBe(1);
    expect(await example.locator('.spark svg').getAttribute('aria-label')).toMatch(/^Average latency of Example over the last 24 hours: \d+ to \d+ ms$/);

    // Tooltip on hover: date and percentage.
    await example.locator('.bar').nth(77).hover();
    expect(await page.textContent('#tooltip')).toMatch(/: 97.50% uptime$/);
    expect(await page.isVisible('#tooltip')).toBe(true);

    // Always-down existed only 30 days: the older bars are "no data", not red.
    const downBars = await page.locator(`[data-check="${downUid}"] .bar`).evaluateAll((bars) => bars.map((b) => b.className));
    expect(downBars.slice(0, 60).every((c) => c === 'bar')).toBe(true);
    expect(downBars.slice(60).every((c) => c === 'bar bar--down')).toBe(true);
    const downCheck = page.locator(`[data-check="${downUid}"]`);
    expect(await downCheck.locator('.check__meta').textContent()).toMatch(/^Down for 40 min \(since .+\)DNSFailure0% last 24 h$/);
    expect(await downCheck.locator('.spark').textContent()).toBe('No latency data');

    expect(await page.$$eval('#events li', (items) => items.map((li) => li.textContent))).toEqual([
      expect.stringMatching(/Always down is Down \(DNSFailure\) — was pending$/),
      expect.stringMatching(/Example is Operational — was down$/),
    ]);

    // Landmarks and names for assistive technology.
    expect(await page.getAttribute('html', 'lang')).toBe('en');
    for (const selector of ['header.site-header', 'nav[aria-label="Site"]', 'main#main', 'footer.site-footer', 'h1']) expect(await page.locator(selector).count()).toBe(1);

    await page.screenshot({ path: join(ARTIFACTS, 'desktop.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it("shows a check's new state within one refresh period, without reloading", async () => {
    const { page, problems } = await openPage({ width: 1280, height: 900 });
    await page.evaluate('window.notReloaded = true');
    const changedAt = Date.now();
    await setCheckState(pool, webUid, 'down', new Date(), 'Timeout');
    await insertTransition(pool, { uid: webUid, name: 'example', from: 'up', to: 'down', at: new Date(), reason: 'Timeout' });
    // One period until the next poll, plus slack for a loaded machine to fetch and render.
    await page.waitForSelector(`[data-check="${webUid}"][data-state="down"]`, { timeout: REFRESH_MS + 3_000 });
    const seenAfterMs = Date.now() - changedAt;
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    expect(await page.locator(`[data-check="${webUid}"] .state`).textContent()).toBe('Down');
    expect(await page.textContent('#banner-detail')).toBe('1 of 3 checks up · 2 down');
    expect(await page.locator('#events li').first().textContent()).toMatch(/Example is Down \(Timeout\) — was operational$/);
    expect(seenAfterMs).toBeLessThan(REFRESH_MS + 3_000);
    expect(problems).toEqual([]);
    await page.close();
    await setCheckState(pool, webUid, 'up', new Date());
    await insertTransition(pool, { uid: webUid, name: 'example', from: 'down', to: 'up', at: new Date() });
  });

  it('fits a phone: no horizontal scrolling, the last 30 days as bars', async () => {
    const { page, problems } = await openPage({ width: 390, height: 844 });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    const visibleBars = await page.locator(`[data-check="${githubUid}"] .bar:visible`).count();
    expect(visibleBars).toBe(30);
    await page.screenshot({ path: join(ARTIFACTS, 'phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the delivery log and its attempts to an operator who pastes a token', async () => {
    const { page, problems } = await openPage({ width: 1280, height: 900 });
    await page.fill('#delivery-token', viewerToken);
    await page.fill('#delivery-namespace', 'default');
    await page.click('#delivery-form button[type="submit"]');
    await page.waitForSelector('#delivery-result table');
    const rows = await page.$$eval('#delivery-result tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)));
    expect(rows).toEqual([['default/example', 'check.up', 'ops-chat', 'delivered', '2', '204']]);
    await page.click('#delivery-result tbody button');
    await page.waitForSelector('#delivery-result h3');
    const attemptRows = await page.locator('#delivery-result table').nth(1).locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(attemptRows.map((r) => [r[0], r[3], r[5]])).toEqual([
      ['1', '503', 'upstream unavailable'],
      ['2', '204', ''],
    ]);
    await page.locator('#deliveries-heading').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(ARTIFACTS, 'delivery-log.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
