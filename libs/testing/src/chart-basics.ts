import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject } from '@kubernetes/client-node';
import { WORKSPACE_ROOT, type ControlPlane } from './control-plane.js';
import { waitFor } from './processes.js';

const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

/**
 * What a service needs of the chart before it runs: the release namespace, the
 * CRD, and the chart's ServiceAccounts and RBAC exactly as the built helm
 * renders them. Returns each component's ServiceAccount name
 * (`app.kubernetes.io/component` → name), to mint its token with
 * `plane.tokenFor(namespace, name)`.
 */
export async function installChartBasics(plane: ControlPlane, namespace: string): Promise<Map<string, string>> {
  const must = async (what: string, result: Promise<{ code: number; stdout: string; stderr: string }>) => {
    const r = await result;
    if (r.code !== 0) throw new Error(`${what} failed: ${r.stderr}`);
    return r.stdout;
  };
  await must('kubectl create namespace', plane.kubectl(['create', 'namespace', namespace]));
  await must('applying the CRD', plane.kubectl(['apply', '--server-side', '-f', join(WORKSPACE_ROOT, 'charts/vigil/crds/')]));
  const rendered = await must('helm template', plane.helm(['template', 'vigil', join(WORKSPACE_ROOT, 'charts/vigil'), '--namespace', namespace]));
  const rbac = loadAllYaml(rendered).filter((o): o is KubernetesObject => Boolean(o) && RBAC_KINDS.has((o as KubernetesObject).kind ?? ''));
  await must("applying the chart's RBAC", plane.kubectl(['apply', '-f', '-'], { stdin: rbac.map((o) => JSON.stringify(o)).join('\n') }));
  const serviceAccounts = new Map<string, string>();
  for (const sa of rbac.filter((o) => o.kind === 'ServiceAccount')) {
    const component = sa.metadata?.labels?.['app.kubernetes.io/component'];
    if (component) serviceAccounts.set(component, sa.metadata!.name!);
  }
  await waitFor('the UptimeCheck CRD to be served', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
  return serviceAccounts;
}
