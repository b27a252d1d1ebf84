import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ApiException, AuthenticationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { ControlPlane } from './control-plane.js';
import { waitFor } from './processes.js';

let plane: ControlPlane;
const namespace = 'rbac-test';

async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllerManager: true });
  const kc = plane.kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'reader' } } });
  await rbac.createNamespacedRole({
    namespace,
    body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
  });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: {
      metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace }],
    },
  });
});

afterAll(async () => {
  await plane?.stop();
});

describe('the control-plane harness', () => {
  it('mints ServiceAccount tokens that authenticate as that ServiceAccount', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await plane.writeTokenKubeconfig(await plane.tokenFor(namespace, 'reader'), 'reader'));
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: {} });
    expect(review.status?.userInfo?.username).toBe(`system:serviceaccount:${namespace}:reader`);
  });

  it('enforces RBAC on those tokens: granted verbs work, everything else is 403', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await plane.writeTokenKubeconfig(await plane.tokenFor(namespace, 'reader'), 'reader'));
    const core = kc.makeApiClient(CoreV1Api);
    expect(await statusOf(core.listNamespacedConfigMap({ namespace }))).toBe(200);
    expect(await statusOf(core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'x' } } }))).toBe(403);
    expect(await statusOf(core.listNamespacedSecret({ namespace }))).toBe(403);
    expect(await statusOf(core.listNamespacedConfigMap({ namespace: 'default' }))).toBe(403);
    // kubectl agrees, through the same token.
    const canI = await plane.kubectl(['auth', 'can-i', 'delete', 'configmaps', '-n', namespace], {
      kubeconfig: await plane.writeTokenKubeconfig(await plane.tokenFor(namespace, 'reader'), 'reader-kubectl'),
    });
    expect(canI.stdout.trim()).toBe('no');
  });

  it('refuses a forged token with 401', async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(await plane.writeTokenKubeconfig('not-a-real-token', 'forged'));
    expect(await statusOf(kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace }))).toBe(401);
  });

  it('runs kube-controller-manager: namespaces get a default ServiceAccount and deleting one completes', async () => {
    const core = plane.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'short-lived' } } });
    await waitFor('the default ServiceAccount', async () => (await statusOf(core.readNamespacedServiceAccount({ namespace: 'short-lived', name: 'default' }))) === 200);
    await core.createNamespacedConfigMap({ namespace: 'short-lived', body: { metadata: { name: 'content' } } });
    await core.deleteNamespace({ name: 'short-lived' });
    await waitFor('the namespace to be gone', async () => (await statusOf(core.readNamespace({ name: 'short-lived' }))) === 404, { timeoutMs: 60_000 });
  });

  it('restarts the API server on the same port with its data intact', async () => {
    const core = plane.kubeConfig().makeApiClient(CoreV1Api);
    await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'survivor' } } });
    await plane.stopApiServer();
    expect(await statusOf(core.readNamespacedConfigMap({ namespace, name: 'survivor' })).catch(() => 'unreachable')).toBe('unreachable');
    await plane.startApiServer();
    expect(await statusOf(core.readNamespacedConfigMap({ namespace, name: 'survivor' }))).toBe(200);
  });
});
