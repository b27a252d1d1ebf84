import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { UPTIME_CHECK } from '@vigil/k8s';
import type { Scope } from '../checks/check-store.js';

interface Needed {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
}

/** What the watcher's ServiceAccount must be allowed to do (the Helm chart grants exactly this). */
export function neededPermissions(scopes: readonly Scope[], leaseNamespace: string): Needed[] {
  const needed: Needed[] = [];
  for (const scope of scopes) {
    for (const verb of ['list', 'watch']) {
      needed.push({ verb, group: UPTIME_CHECK.group, resource: UPTIME_CHECK.plural, ...(scope === null ? {} : { namespace: scope }) });
    }
    // The Stored condition (Server-Side Apply on /status) and its Warning Event.
    const where = scope === null ? {} : { namespace: scope };
    needed.push({ verb: 'patch', group: UPTIME_CHECK.group, resource: UPTIME_CHECK.plural, subresource: 'status', ...where });
    needed.push({ verb: 'create', group: '', resource: 'events', ...where });
  }
  for (const verb of ['get', 'create', 'update']) needed.push({ verb, group: 'coordination.k8s.io', resource: 'leases', namespace: leaseNamespace });
  return needed;
}

export function describePermission(p: Needed): string {
  return `${p.verb} ${p.resource}${p.subresource ? `/${p.subresource}` : ''}${p.group ? `.${p.group}` : ''} in ${p.namespace ? `namespace ${p.namespace}` : 'all namespaces'}`;
}

/**
 * Asks the API server, through SelfSubjectAccessReviews (which every
 * authenticated identity may create), which of the needed permissions this
 * identity lacks. Throws when the API server cannot be asked.
 */
export async function missingPermissions(kubeConfig: KubeConfig, needed: readonly Needed[]): Promise<string[]> {
  const api = kubeConfig.makeApiClient(AuthorizationV1Api);
  const answers = await Promise.all(
    needed.map(async (p) => {
      const review = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: p } } });
      return review.status?.allowed ? undefined : describePermission(p);
    }),
  );
  return answers.filter((a): a is string => a !== undefined);
}
