// Test support: the alerter's ServiceAccount and RBAC exactly as the chart
// should create them (README, "Kubernetes permissions").
import { CoreV1Api, RbacAuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';

export const ALERTER_RULES = [
  // Status only: the alerter never reads or writes the spec.
  { apiGroups: ['vigil.dev'], resources: ['uptimechecks/status'], verbs: ['patch'] },
  // create for the first occurrence, patch to aggregate (count, lastTimestamp).
  { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
];

export async function createAlerterServiceAccount(kc: KubeConfig, namespace: string, name = 'vigil-alerter'): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
  await rbac.createClusterRole({ body: { metadata: { name }, rules: ALERTER_RULES } });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
  });
}
