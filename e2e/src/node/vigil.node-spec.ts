import { afterAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@vigil/testing';
import { BASE_URL, HOST_PORT, NAMESPACE, RELEASE, connectFrom, helm, k, kubectl, make, nodeInPod, run, sql } from './cluster.js';

// Vigil as a platform team installs it, on the real node that `make test-node`
// brought up (kubelet, containerd, kube-proxy, kube-router, CoreDNS): the
// chart from `make deploy`, the image from `make build`, and what only a
// cluster shows. The tests run in order; each builds on the release the first installs.
const CHECKS_NS = 'node-e2e';
const SMOKE_NS = 'vigil-smoke';
const POSTGRES = `${RELEASE}-postgres`;
const failed = (what: string, r: { code: number; stdout: string; stderr: string }) =>
  `${what} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`;

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  status: { phase: string; containerStatuses?: Array<{ ready: boolean }> };
}

async function pods(namespace: string): Promise<Pod[]> {
  return (JSON.parse(await k(['get', 'pods', '-n', namespace, '-o', 'json'])) as { items: Pod[] }).items;
}

async function checkState(name: string): Promise<string> {
  const r = await kubectl(['get', 'uptimecheck', name, '-n', CHECKS_NS, '-o', 'jsonpath={.status.state}']);
  return r.stdout.trim();
}

function checkYaml(name: string, url: string, interval = '5s'): string {
  return `apiVersion: vigil.dev/v1alpha1
kind: UptimeCheck
metadata: {name: ${name}, namespace: ${CHECKS_NS}}
spec: {url: "${url}", interval: ${interval}, timeout: 3s}
`;
}

/** The spec of web.demo's Deployment, to make a second site from. */
async function webDeploymentSpec(): Promise<unknown> {
  return (JSON.parse(await k(['get', 'deployment', 'web', '-n', 'demo', '-o', 'json'])) as { spec: unknown }).spec;
}

afterAll(async () => {
  // Leave the node clean for `make cluster-down` whatever happened above.
  await kubectl(['delete', 'namespace', CHECKS_NS, '--ignore-not-found', '--wait=false']);
});

describe('Vigil on the local node', () => {
  it('renders with helm template, without a cluster (no lookup; the password comes from a Job in the cluster)', async () => {
    const r = await helm(['template', RELEASE, 'charts/vigil', '-n', NAMESPACE], { env: { KUBECONFIG: '/nonexistent' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('kind: StatefulSet');
    const secrets = r.stdout.split(/^---$/m).filter((doc) => /^kind: Secret$/m.test(doc));
    expect(secrets.filter((doc) => doc.includes(`name: ${POSTGRES}\n`))).toEqual([]);
    expect(r.stdout).toMatch(new RegExp(`kind: Job\\n[\\s\\S]*?name: ${RELEASE}-postgres-password-[0-9a-f]{8}`));
    const a = await helm(['template', RELEASE, 'charts/vigil', '-n', NAMESPACE]);
    expect(a.stdout).toBe(r.stdout); // deterministic: a GitOps tool sees no drift between renders
  });

  it('installs with make deploy into a namespace enforcing restricted: every pod Running and Ready', async () => {
    const r = await make('deploy');
    if (r.code !== 0) throw new Error(failed('make deploy', r));
    const ns = JSON.parse(await k(['get', 'namespace', NAMESPACE, '-o', 'json'])) as { metadata: { labels: Record<string, string> } };
    expect(ns.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const all = await pods(NAMESPACE);
    const running = all.filter((p) => p.status.phase !== 'Succeeded');
    const components = new Set(running.map((p) => p.metadata.labels?.['app.kubernetes.io/component']));
    expect([...components].sort()).toEqual(['alerter', 'api', 'postgres', 'prober', 'watcher']);
    for (const p of running) {
      expect({ pod: p.metadata.name, phase: p.status.phase }).toEqual({ pod: p.metadata.name, phase: 'Running' });
      expect({ pod: p.metadata.name, ready: (p.status.containerStatuses ?? []).every((c) => c.ready) }).toEqual({ pod: p.metadata.name, ready: true });
    }
  });

  it('keeps the demo Postgres on a real volume, with the password Secret its Job made, and every migration applied', async () => {
    const pvc = JSON.parse(await k(['get', 'pvc', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=postgres', '-o', 'json'])) as {
      items: Array<{ status: { phase: string }; spec: { volumeName: string; storageClassName: string } }>;
    };
    expect(pvc.items).toHaveLength(1);
    expect(pvc.items[0]!.status.phase).toBe('Bound');
    const pv = JSON.parse(await k(['get', 'pv', pvc.items[0]!.spec.volumeName, '-o', 'json'])) as { spec: { local?: { path: string } } };
    expect(pv.spec.local?.path).toMatch(/\/volumes\/pv-\d$/);
    const secret = JSON.parse(await k(['get', 'secret', POSTGRES, '-n', NAMESPACE, '-o', 'json'])) as { data: { password: string } };
    expect(Buffer.from(secret.data.password, 'base64').toString().length).toBeGreaterThanOrEqual(32);
    const migrations = await sql<{ id: number }>('SELECT id FROM vigil.schema_migrations ORDER BY id');
    const files = (await run('ls', ['libs/db/migrations'])).stdout.split('\n').filter((f) => /^\d{4}_.*\.sql$/.test(f));
    expect(migrations.map((m) => m.id)).toEqual(files.map((f) => Number(f.slice(0, 4))));
  });

  it('passes helm test', async () => {
    const r = await helm(['test', RELEASE, '-n', NAMESPACE, '--timeout', '2m']);
    if (r.code !== 0) throw new Error(failed('helm test', r));
    expect(r.stdout).toMatch(/Phase:\s+Succeeded/);
  });

  it('serves the status page on localhost through the ingress controller (Traefik), not a NodePort of its own', async () => {
    const ingress = JSON.parse(await k(['get', 'ingress', '-n', NAMESPACE, '-o', 'json'])) as {
      items: Array<{ spec: { ingressClassName?: string; rules?: Array<{ http?: { paths: Array<{ backend: { service?: { name: string } } }> } }> } }>;
    };
    expect(ingress.items.map((i) => i.spec.ingressClassName)).toEqual(['traefik']);
    expect(ingress.items[0]!.spec.rules?.[0]?.http?.paths[0]?.backend.service?.name).toBe(`${RELEASE}-api`);
    expect(await k(['get', 'service', `${RELEASE}-api`, '-n', NAMESPACE, '-o', 'jsonpath={.spec.type}'])).toBe('ClusterIP');
    // The one Service on the host port is Traefik's.
    const services = JSON.parse(await k(['get', 'services', '-A', '-o', 'json'])) as {
      items: Array<{ metadata: { namespace: string; name: string }; spec: { ports?: Array<{ nodePort?: number }> } }>;
    };
    const onHostPort = services.items.filter((svc) => (svc.spec.ports ?? []).some((p) => String(p.nodePort) === HOST_PORT));
    expect(onHostPort.map((svc) => `${svc.metadata.namespace}/${svc.metadata.name}`)).toEqual(['kube-system/traefik']);
    const res = await fetch(`${BASE_URL}/api/v1/summary`, { signal: AbortSignal.timeout(5_000) });
    expect(res.status).toBe(200);
  });

  it('passes make smoke (10 steps, SMOKE_PODS=1) through the ingress on localhost', async () => {
    const r = await make('smoke', { SMOKE_PODS: '1', SMOKE_STREAK: '20', SMOKE_TIMEOUT: '120' });
    if (r.code !== 0) throw new Error(failed('make smoke', r));
    expect(r.stdout).toContain('smoke: all 10 steps passed');
  });

  it('resolves in-cluster short names through the pod search domains: web.demo and web.demo.svc are up', async () => {
    await k(['create', 'namespace', CHECKS_NS]);
    await k(['apply', '-f', '-'], checkYaml('short', 'http://web.demo:8080/') + '---\n' + checkYaml('short-svc', 'http://web.demo.svc:8080/'));
    await waitFor('short-name checks up', async () => (await checkState('short')) === 'up' && (await checkState('short-svc')) === 'up', {
      timeoutMs: 60_000,
      intervalMs: 1_000,
    });
  });

  it('enforces the NetworkPolicies on real connections (default apiserver values)', async () => {
    const prober = `deploy/${RELEASE}-prober`;
    const api = `deploy/${RELEASE}-api`;
    const watcher = `deploy/${RELEASE}-watcher`;
    const postgres = `${POSTGRES}.${NAMESPACE}.svc.cluster.local`;
    const table = await Promise.all([
      ['prober -> web.demo:8080 (a target)', connectFrom(NAMESPACE, prober, 'web.demo.svc.cluster.local', 8080), 'open'],
      ['prober -> kube-apiserver (Service)', connectFrom(NAMESPACE, prober, 'kubernetes.default.svc.cluster.local', 443), 'denied'],
      ['prober -> kube-apiserver (endpoint)', connectFrom(NAMESPACE, prober, '10.88.0.1', 6443), 'denied'],
      ['api -> web.demo:8080 (a target)', connectFrom(NAMESPACE, api, 'web.demo.svc.cluster.local', 8080), 'denied'],
      ['web.demo (not the ingress controller) -> api', connectFrom('demo', 'deploy/web', `${RELEASE}-api.${NAMESPACE}.svc.cluster.local`, 80), 'denied'],
      ['watcher -> kube-apiserver', connectFrom(NAMESPACE, watcher, 'kubernetes.default.svc.cluster.local', 443), 'open'],
      ['api -> kube-apiserver', connectFrom(NAMESPACE, api, 'kubernetes.default.svc.cluster.local', 443), 'open'],
      ['watcher -> postgres', connectFrom(NAMESPACE, watcher, postgres, 5432), 'open'],
      ['prober -> postgres', connectFrom(NAMESPACE, prober, postgres, 5432), 'open'],
      ['web.demo (not Vigil) -> postgres', connectFrom('demo', 'deploy/web', postgres, 5432), 'denied'],
      ['smoke receiver (not Vigil) -> postgres', connectFrom(SMOKE_NS, 'deploy/smoke-receiver', postgres, 5432), 'denied'],
    ].map(async ([what, result, expected]) => ({ what, result: (await result) === 'open' ? 'open' : 'denied', expected })));
    expect(table.map((r) => `${r.what as string}: ${r.result}`)).toEqual(table.map((r) => `${r.what as string}: ${r.expected as string}`));
    // DNS works from Vigil's pods, through the pod's resolver.
    const dns = await nodeInPod(NAMESPACE, prober, `import { lookup } from 'node:dns/promises'; console.log((await lookup('web.demo')).address);`);
    expect(dns).toMatch(/^10\.96\./);
  });

  it('scales the prober 3 -> 1 with no slot probed twice and none missed', async () => {
    const names = Array.from({ length: 6 }, (_, i) => `slot-${i}`);
    const started = Date.now();
    await k(['apply', '-f', '-'], names.map((n) => checkYaml(n, `http://web.demo:8080/${n}`)).join('---\n'));
    await k(['scale', `deploy/${RELEASE}-prober`, '-n', NAMESPACE, '--replicas=3']);
    await k(['rollout', 'status', `deploy/${RELEASE}-prober`, '-n', NAMESPACE, '--timeout=120s']);
    await sleep(15_000);
    await k(['scale', `deploy/${RELEASE}-prober`, '-n', NAMESPACE, '--replicas=1']);
    await waitFor('one prober pod left', async () => (await pods(NAMESPACE)).filter((p) => p.metadata.labels?.['app.kubernetes.io/component'] === 'prober').length === 1, {
      timeoutMs: 90_000,
      intervalMs: 1_000,
    });
    await sleep(15_000);
    const probers = await sql<{ n: number }>(
      `SELECT count(DISTINCT r.prober)::int AS n FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid WHERE c.namespace = $1 AND c.name LIKE 'slot-%'`,
      [CHECKS_NS],
    );
    expect(probers[0]!.n).toBeGreaterThanOrEqual(2);
    const duplicates = await sql(
      `SELECT r.check_uid, r.due_at, count(*) FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
        WHERE c.namespace = $1 GROUP BY r.check_uid, r.due_at HAVING count(*) > 1`,
      [CHECKS_NS],
    );
    expect(duplicates).toEqual([]);
    // Consecutive slots are one interval apart; only the first slot after creation may come sooner.
    const gaps = await sql<{ name: string; gap_ms: number; first: boolean }>(
      `SELECT name, gap_ms, first FROM (
         SELECT c.name, round(extract(epoch FROM r.due_at - lag(r.due_at) OVER w) * 1000)::int AS gap_ms, row_number() OVER w = 2 AS first
           FROM vigil.probe_results r JOIN vigil.checks c ON c.uid = r.check_uid
          WHERE c.namespace = $1 AND c.name LIKE 'slot-%'
         WINDOW w AS (PARTITION BY r.check_uid ORDER BY r.due_at)) t WHERE gap_ms IS NOT NULL`,
      [CHECKS_NS],
    );
    // Every 5 s slot since the checks were created, less the first two and the one in flight.
    expect(gaps.length).toBeGreaterThanOrEqual(names.length * (Math.floor((Date.now() - started) / 5_000) - 3));
    expect(gaps.filter((g) => (g.first ? g.gap_ms < 5_000 || g.gap_ms >= 10_000 : g.gap_ms !== 5_000))).toEqual([]);
  });

  it('rolls the api out behind the ingress with no failed request streak', async () => {
    const codes: number[] = [];
    let rolling = true;
    const poller = (async () => {
      while (rolling) {
        const res = await fetch(`${BASE_URL}/api/v1/summary`, { signal: AbortSignal.timeout(3_000) }).then(
          (r) => r.status,
          () => 0,
        );
        codes.push(res);
        await sleep(100);
      }
    })();
    await k(['rollout', 'restart', `deploy/${RELEASE}-api`, '-n', NAMESPACE]);
    await k(['rollout', 'status', `deploy/${RELEASE}-api`, '-n', NAMESPACE, '--timeout=180s']);
    await sleep(3_000);
    rolling = false;
    await poller;
    let streak = 0;
    let longest = 0;
    for (const c of codes) {
      streak = c === 200 ? 0 : streak + 1;
      longest = Math.max(longest, streak);
    }
    expect(codes.length).toBeGreaterThan(50);
    expect({ longestFailedStreak: longest, failed: codes.filter((c) => c !== 200).length }).toEqual({ longestFailedStreak: 0, failed: 0 });
  });

  it('loses no transition when the prober pod is deleted mid-probe', async () => {
    // A second site the suite switches off and on.
    const flip = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'flip', namespace: 'demo' }, spec: await webDeploymentSpec() };
    const spec = JSON.stringify(flip).replaceAll('"web"', '"flip"');
    await k(['apply', '-f', '-'], spec);
    await k(['expose', 'deployment', 'flip', '-n', 'demo', '--port=8080', '--target-port=8080']).catch(() => '');
    await k(['rollout', 'status', 'deploy/flip', '-n', 'demo', '--timeout=120s']);
    await k(['apply', '-f', '-'], checkYaml('flip', 'http://flip.demo:8080/'));
    await waitFor('flip up', async () => (await checkState('flip')) === 'up', { timeoutMs: 60_000, intervalMs: 1_000 });
    for (const [replicas, state] of [
      ['0', 'down'],
      ['1', 'up'],
    ] as const) {
      await k(['scale', 'deploy/flip', '-n', 'demo', `--replicas=${replicas}`]);
      // The prober dies while the change is being probed.
      await sleep(2_000);
      await k(['delete', 'pod', '-n', NAMESPACE, '-l', 'app.kubernetes.io/component=prober', '--wait=false']);
      await waitFor(`flip ${state}`, async () => (await checkState('flip')) === state, { timeoutMs: 90_000, intervalMs: 1_000 });
    }
    const transitions = await sql<{ to_state: string }>(
      `SELECT to_state FROM vigil.transitions WHERE namespace = $1 AND name = 'flip' ORDER BY at`,
      [CHECKS_NS],
    );
    expect(transitions.map((t) => t.to_state)).toEqual(['up', 'down', 'up']);
    const events = await k(['get', 'events', '-n', CHECKS_NS, '--field-selector', 'involvedObject.name=flip', '-o', 'jsonpath={.items[*].reason}']);
    expect(events.split(' ')).toEqual(expect.arrayContaining(['Down', 'Up']));
  });

  it('deletes a namespace full of UptimeChecks at once, then uninstalls and deletes its own namespaces without blocking', async () => {
    const started = Date.now();
    await k(['delete', 'namespace', CHECKS_NS, '--wait', '--timeout=60s']);
    expect(Date.now() - started).toBeLessThan(60_000);
    const r = await make('undeploy');
    if (r.code !== 0) throw new Error(failed('make undeploy', r));
    for (const ns of [NAMESPACE, SMOKE_NS, CHECKS_NS]) {
      const get = await kubectl(['get', 'namespace', ns]);
      expect({ ns, gone: get.code !== 0 }).toEqual({ ns, gone: true });
    }
    await k(['delete', 'namespace', 'demo', '--wait', '--timeout=60s']);
  });
});
