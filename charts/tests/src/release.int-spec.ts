// The chart's whole life on a real kube-apiserver + kube-controller-manager:
// installed into a namespace that enforces restricted Pod Security, upgraded
// with changed values, uninstalled, and its namespace deleted. The tests in
// this file run in order, each on what the one before left.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { ControlPlane, waitFor } from '@vigil/testing';
import { CHART_DIR, CLOUDNATIVEPG_VALUES, EKS_VALUES, EXTERNAL_DB_VALUES, KUBE_VERSION, offlineHelm } from './chart.js';

const namespace = 'vigil';
const watchedNamespace = 'team-a';
const expectedPods = { watcher: 2, prober: 2, alerter: 2, api: 2, postgres: 1 };

let plane: ControlPlane;

async function kubectlJson<T>(args: string[]): Promise<T> {
  const result = await plane.kubectl([...args, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

async function podsOf(component: string): Promise<V1Pod[]> {
  const list = await kubectlJson<{ items: V1Pod[] }>(['get', 'pods', '-n', namespace, '-l', `app.kubernetes.io/instance=vigil,app.kubernetes.io/component=${component}`]);
  return list.items.filter((p) => !p.metadata?.deletionTimestamp);
}

async function exists(args: string[]): Promise<boolean> {
  const result = await plane.kubectl(['get', ...args, '--ignore-not-found', '-o', 'name']);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout.trim() !== '';
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllerManager: true });
  // The namespace first, with its Pod Security labels, as `make deploy` does.
  for (const args of [
    ['create', 'namespace', namespace],
    ['label', 'namespace', namespace, 'pod-security.kubernetes.io/enforce=restricted', 'pod-security.kubernetes.io/enforce-version=latest', 'pod-security.kubernetes.io/warn=restricted'],
    ['create', 'namespace', watchedNamespace],
  ]) {
    const result = await plane.kubectl(args);
    expect(result.stderr).toBe('');
  }
});

afterAll(async () => {
  await plane?.stop();
});

describe('helm install into a namespace that enforces restricted Pod Security', () => {
  it('has a namespace that really refuses a pod which is not restricted', async () => {
    const result = await plane.kubectl(['run', 'loose', '-n', namespace, '--image=busybox', '--restart=Never']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('violates PodSecurity "restricted:latest"');
  });

  it('installs the release', async () => {
    const result = await plane.helm(['install', 'vigil', CHART_DIR, '-n', namespace]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('STATUS: deployed');
    // The namespace is labelled, so NOTES.txt has no Pod Security warning.
    expect(result.stdout).toContain('Vigil 0.1.0 is installed as "vigil"');
    expect(result.stdout).not.toContain('WARNING');
  });

  it('gets every Deployment’s and the StatefulSet’s pods created by their controllers', async () => {
    for (const [component, count] of Object.entries(expectedPods)) {
      await waitFor(`${count} ${component} pod(s)`, async () => (await podsOf(component)).length === count, { timeoutMs: 60_000, intervalMs: 500 });
    }
  });

  it('records no FailedCreate event: Pod Security admitted every pod', async () => {
    const events = await kubectlJson<{ items: { reason?: string; message?: string }[] }>(['get', 'events', '-n', namespace]);
    expect(events.items.filter((e) => e.reason === 'FailedCreate').map((e) => e.message)).toEqual([]);
    const replicaSets = await kubectlJson<{ items: { status?: { conditions?: { type: string }[] } }[] }>(['get', 'replicasets', '-n', namespace]);
    expect(replicaSets.items.flatMap((rs) => rs.status?.conditions ?? []).map((c) => c.type)).not.toContain('ReplicaFailure');
  });

  it('leaves the pods Pending (no kubelet runs here) with their restricted settings as admitted', async () => {
    for (const component of Object.keys(expectedPods)) {
      for (const pod of await podsOf(component)) {
        expect(pod.status?.phase).toBe('Pending');
        expect(pod.spec!.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
        for (const container of [...(pod.spec!.initContainers ?? []), ...pod.spec!.containers]) {
          expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
        }
      }
    }
  });

  it('mounts a ServiceAccount token into every pod that talks to Kubernetes, and none into the prober or Postgres', async () => {
    const hasToken = async (component: string) => (await podsOf(component)).map((p) => (p.spec!.volumes ?? []).some((v) => v.name.startsWith('kube-api-access-')));
    expect(await hasToken('watcher')).toEqual([true, true]);
    expect(await hasToken('alerter')).toEqual([true, true]);
    expect(await hasToken('api')).toEqual([true, true]);
    expect(await hasToken('prober')).toEqual([false, false]);
    expect(await hasToken('postgres')).toEqual([false]);
  });

  it('admits the helm test pod too (server-side dry run in the same namespace)', async () => {
    const rendered = await offlineHelm(['template', 'vigil', CHART_DIR, '-n', namespace, '--kube-version', KUBE_VERSION, '--show-only', 'templates/tests/test-api.yaml']);
    expect(rendered.code).toBe(0);
    const result = await plane.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], { stdin: rendered.stdout });
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('pod/vigil-test created (server dry run)');
  });

  it.each([
    { name: 'the EKS values', file: EKS_VALUES },
    { name: 'the external-database values', file: EXTERNAL_DB_VALUES },
    { name: 'the CloudNativePG values', file: CLOUDNATIVEPG_VALUES },
  ])('has the API server accept what $name render, with no Pod Security warning (server-side dry run)', async ({ file }) => {
    // Another release name, so every object is new to the API server.
    const rendered = await offlineHelm(['template', 'dry', CHART_DIR, '-n', namespace, '--kube-version', KUBE_VERSION, '-f', file]);
    expect(rendered.code).toBe(0);
    const result = await plane.kubectl(['apply', '--dry-run=server', '-n', namespace, '-f', '-'], { stdin: rendered.stdout });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('deployment.apps/dry-vigil-api created (server dry run)');
    expect(result.stdout).toContain('networkpolicy.networking.k8s.io/dry-vigil-prober-egress created (server dry run)');
  });

  it('installs the UptimeCheck CRD from crds/', async () => {
    expect(await exists(['crd', 'uptimechecks.vigil.dev'])).toBe(true);
  });
});

describe('helm upgrade with changed values', () => {
  let passwordBefore: string;

  beforeAll(async () => {
    // The chart renders no password: its Job creates the Secret in the cluster.
    // No kubelet runs Jobs here, so create it as that Job does.
    expect(await exists(['job', '-n', namespace, '-l', 'app.kubernetes.io/component=postgres-password'])).toBe(true);
    const created = await plane.kubectl(['create', 'secret', 'generic', 'vigil-postgres', '-n', namespace, '--from-literal=password=generated-in-the-cluster']);
    expect(created.stderr).toBe('');
    passwordBefore = (await kubectlJson<{ data: { password: string } }>(['get', 'secret', 'vigil-postgres', '-n', namespace])).data.password;
  });

  it('succeeds', async () => {
    const result = await plane.helm([
      'upgrade',
      'vigil',
      CHART_DIR,
      '-n',
      namespace,
      '--set',
      'prober.replicaCount=3',
      '--set',
      `watcher.namespaces={${watchedNamespace}}`,
      '--set',
      'networkPolicy.kubeApiServer.cidrs={172.18.0.2/32}',
      '--set-json',
      'alerter.receivers=[{"name":"ops","url":"https://hooks.example.com/vigil","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"namespaces":["*"]}]',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('REVISION: 2');
  });

  it('scales the prober to 3', async () => {
    await waitFor('3 prober pods', async () => (await podsOf('prober')).length === 3, { timeoutMs: 60_000, intervalMs: 500 });
  });

  it('moves watching from a ClusterRole to a Role in the listed namespace', async () => {
    expect(await exists(['clusterrole', 'vigil-watcher'])).toBe(false);
    expect(await exists(['role', 'vigil-watcher', '-n', watchedNamespace])).toBe(true);
    expect(await exists(['rolebinding', 'vigil-watcher', '-n', watchedNamespace])).toBe(true);
    const watcher = await kubectlJson<{ spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } } }>(['get', 'deployment', 'vigil-watcher', '-n', namespace]);
    expect(watcher.spec.template.spec.containers[0]!.env.find((e) => e.name === 'WATCH_NAMESPACES')?.value).toBe(watchedNamespace);
  });

  it('rewrites the receivers Secret and rolls the alerter to pick it up', async () => {
    const secret = await kubectlJson<{ data: Record<string, string> }>(['get', 'secret', 'vigil-receivers', '-n', namespace]);
    const receivers = JSON.parse(Buffer.from(secret.data['receivers.json']!, 'base64').toString('utf8')) as { receivers: { name: string }[] };
    expect(receivers.receivers.map((r) => r.name)).toEqual(['ops']);
    await waitFor('a second alerter ReplicaSet', async () => {
      const rs = await kubectlJson<{ items: unknown[] }>(['get', 'replicasets', '-n', namespace, '-l', 'app.kubernetes.io/component=alerter']);
      return rs.items.length === 2;
    });
  });

  it('leaves the generated Postgres password alone (the database already has it)', async () => {
    const after = (await kubectlJson<{ data: { password: string } }>(['get', 'secret', 'vigil-postgres', '-n', namespace])).data.password;
    expect(after).toBe(passwordBefore);
  });

  it('narrows the API server policy and keeps the prober away from that address', async () => {
    const apiServer = await kubectlJson<{ spec: { egress: { to: { ipBlock: { cidr: string } }[] }[] } }>(['get', 'networkpolicy', 'vigil-kube-apiserver-egress', '-n', namespace]);
    expect(apiServer.spec.egress[0]!.to.map((t) => t.ipBlock.cidr)).toEqual(['172.18.0.2/32']);
    const prober = await kubectlJson<{ spec: { egress: { to: { ipBlock: { cidr: string; except?: string[] } }[] }[] } }>(['get', 'networkpolicy', 'vigil-prober-egress', '-n', namespace]);
    expect(prober.spec.egress[0]!.to[0]!.ipBlock.except).toContain('172.18.0.2/32');
  });
});

describe('helm uninstall, then deleting the namespace', () => {
  it('uninstalls the release and leaves no cluster-wide object behind', async () => {
    const result = await plane.helm(['uninstall', 'vigil', '-n', namespace, '--wait', '--timeout', '2m']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    for (const kind of ['clusterroles', 'clusterrolebindings']) {
      const left = await plane.kubectl(['get', kind, '-l', 'app.kubernetes.io/instance=vigil', '-o', 'name']);
      expect(left.stdout.trim()).toBe('');
    }
    expect((await plane.kubectl(['get', 'roles,rolebindings', '-n', watchedNamespace, '-o', 'name'])).stdout.trim()).toBe('');
    expect((await plane.kubectl(['get', 'deployments,statefulsets,services,networkpolicies', '-n', namespace, '-o', 'name'])).stdout.trim()).toBe('');
  });

  it('keeps the CRD and its objects (Helm never deletes CRDs)', async () => {
    expect(await exists(['crd', 'uptimechecks.vigil.dev'])).toBe(true);
  });

  it('deletes the namespace completely, nothing stuck on a finalizer', async () => {
    // An UptimeCheck in it must not hold the namespace: Vigil sets no finalizers.
    const check = await plane.kubectl(['apply', '-n', namespace, '-f', '-'], {
      stdin: JSON.stringify({ apiVersion: 'vigil.dev/v1alpha1', kind: 'UptimeCheck', metadata: { name: 'example' }, spec: { url: 'https://example.com' } }),
    });
    expect(check.code).toBe(0);
    const result = await plane.kubectl(['delete', 'namespace', namespace, '--wait=false']);
    expect(result.code).toBe(0);
    await waitFor('the namespace to be gone', async () => !(await exists(['namespace', namespace])), { timeoutMs: 120_000, intervalMs: 1_000 });
    expect(await exists(['pvc', '-A', '-l', 'app.kubernetes.io/instance=vigil'])).toBe(false);
  });
});
