// Least privilege, proven on a real API server with RBAC on: after
// `helm install`, each chart ServiceAccount can do exactly what docs/contracts.md's
// table lists (kubectl auth can-i over a matrix of verbs and resources), and a
// real token of each one makes exactly those calls through the API.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { FIELD_MANAGERS, STORED_CONDITION, STORED_REASONS } from '@vigil/contracts';
import { UPTIME_CHECK } from '@vigil/k8s';
import { ControlPlane } from '@vigil/testing';
import { CHART_DIR } from './chart.js';

// Release "vigil" watches every namespace (ClusterRoles); release "scoped"
// watches only team-a (Roles there).
const releaseNs = 'vigil';
const scopedNs = 'scoped';
const checksNs = 'team-a';
const otherNs = 'team-b';

let plane: ControlPlane;

interface Access {
  verb: string;
  resource: string;
  namespace?: string; // undefined: all namespaces (-A) or a cluster-scoped resource
  subresource?: string;
}

function describeAccess(a: Access): string {
  return `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''} ${a.namespace ? `in ${a.namespace}` : 'cluster-wide'}`;
}

/** `kubectl auth can-i` as a ServiceAccount, through impersonation by the admin. */
async function canI(serviceAccount: string, namespace: string, a: Access): Promise<boolean> {
  const args = ['auth', 'can-i', a.verb, a.resource, `--as=system:serviceaccount:${namespace}:${serviceAccount}`];
  if (a.subresource) args.push(`--subresource=${a.subresource}`);
  args.push(...(a.namespace ? ['-n', a.namespace] : ['-A']));
  const result = await plane.kubectl(args);
  const answer = result.stdout.trim().split('\n')[0];
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl ${args.join(' ')}: ${result.stdout}${result.stderr}`);
  return answer === 'yes';
}

/** Runs `fn` over `items` with a few at a time (each is a kubectl process). */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/** Every verb/resource the matrix asks about, in the namespace of the checks, the release, and another one. */
function universe(ownNs: string): Access[] {
  const inEach = (verbs: string[], resource: string, namespaces: (string | undefined)[], subresource?: string) =>
    namespaces.flatMap((namespace) => verbs.map((verb) => ({ verb, resource, namespace, subresource })));
  return [
    ...inEach(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'], 'uptimechecks.vigil.dev', [checksNs, otherNs, undefined]),
    ...inEach(['get', 'patch', 'update'], 'uptimechecks.vigil.dev', [checksNs, otherNs, undefined], 'status'),
    ...inEach(['get', 'create', 'update', 'patch', 'list', 'watch', 'delete', 'deletecollection'], 'leases.coordination.k8s.io', [ownNs, checksNs, undefined]),
    ...inEach(['create', 'patch', 'get', 'list', 'update', 'delete'], 'events', [checksNs, otherNs, undefined]),
    ...inEach(['create', 'patch', 'list', 'delete'], 'events.events.k8s.io', [checksNs, otherNs, undefined]),
    ...inEach(['get', 'list', 'watch', 'create'], 'secrets', [ownNs, checksNs, undefined]),
    ...inEach(['get', 'list'], 'configmaps', [ownNs, checksNs]),
    ...inEach(['get', 'list', 'create', 'delete'], 'pods', [ownNs, checksNs]),
    ...inEach(['create'], 'pods', [ownNs], 'exec'),
    ...inEach(['get', 'list', 'patch'], 'deployments.apps', [ownNs]),
    ...inEach(['create'], 'serviceaccounts', [ownNs], 'token'),
    ...inEach(['list', 'create'], 'networkpolicies.networking.k8s.io', [ownNs]),
    ...inEach(['create'], 'rolebindings.rbac.authorization.k8s.io', [ownNs, checksNs]),
    ...inEach(['create', 'bind', 'escalate'], 'clusterroles.rbac.authorization.k8s.io', [undefined]),
    ...inEach(['create'], 'tokenreviews.authentication.k8s.io', [undefined]),
    ...inEach(['create'], 'subjectaccessreviews.authorization.k8s.io', [undefined]),
    ...inEach(['get', 'list'], 'namespaces', [undefined]),
    ...inEach(['list'], 'nodes', [undefined]),
    ...inEach(['get', 'create', 'update'], 'customresourcedefinitions.apiextensions.k8s.io', [undefined]),
  ];
}

/** What each ServiceAccount may do, per docs/contracts.md's table ("Service permissions"); everything else must be denied. */
function granted(component: string, ownNs: string, watchedNamespaces: (string | undefined)[]): string[] {
  const grants: Access[] = [];
  const onChecks = (verbs: string[], resource: string, subresource?: string) =>
    watchedNamespaces.forEach((namespace) => verbs.forEach((verb) => grants.push({ verb, resource, namespace, subresource })));
  switch (component) {
    case 'watcher':
      onChecks(['list', 'watch'], 'uptimechecks.vigil.dev');
      onChecks(['patch'], 'uptimechecks.vigil.dev', 'status');
      onChecks(['create'], 'events');
      for (const verb of ['get', 'create', 'update']) grants.push({ verb, resource: 'leases.coordination.k8s.io', namespace: ownNs });
      break;
    case 'alerter':
      onChecks(['patch'], 'uptimechecks.vigil.dev', 'status');
      onChecks(['create', 'patch'], 'events');
      break;
    case 'api':
      grants.push({ verb: 'create', resource: 'tokenreviews.authentication.k8s.io' }, { verb: 'create', resource: 'subjectaccessreviews.authorization.k8s.io' });
      break;
    case 'prober':
      break;
  }
  return grants.map(describeAccess);
}

async function helmInstall(release: string, namespace: string, args: string[] = []): Promise<void> {
  const result = await plane.helm(['install', release, CHART_DIR, '-n', namespace, ...args]);
  if (result.code !== 0) throw new Error(`helm install ${release} failed: ${result.stderr}`);
}

beforeAll(async () => {
  plane = await ControlPlane.start({ controllerManager: true });
  for (const ns of [releaseNs, scopedNs, checksNs, otherNs]) {
    const created = await plane.kubectl(['create', 'namespace', ns]);
    if (created.code !== 0) throw new Error(created.stderr);
  }
  await helmInstall('vigil', releaseNs);
  await helmInstall('scoped', scopedNs, ['--set', `watcher.namespaces={${checksNs}}`]);
  // A check in each namespace, for the calls below.
  const objects = plane.kubeConfig().makeApiClient(CustomObjectsApi);
  for (const namespace of [checksNs, otherNs]) {
    await objects.createNamespacedCustomObject({
      group: UPTIME_CHECK.group,
      version: UPTIME_CHECK.version,
      plural: UPTIME_CHECK.plural,
      namespace,
      body: { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: 'example' }, spec: { url: 'https://example.com' } },
    });
  }
});

afterAll(async () => {
  await plane?.stop();
});

describe.each([
  { release: 'vigil', ownNs: releaseNs, prefix: 'vigil', scope: 'every namespace', watched: [checksNs, otherNs, undefined] },
  { release: 'scoped', ownNs: scopedNs, prefix: 'scoped-vigil', scope: `only ${checksNs}`, watched: [checksNs] },
])('kubectl auth can-i for the ServiceAccounts of release "$release" (watching $scope)', ({ ownNs, prefix, watched }) => {
  it.each(['watcher', 'prober', 'alerter', 'api'])('%s may do exactly what docs/contracts.md lists, and nothing else', async (component) => {
    const matrix = universe(ownNs);
    const answers = await mapLimited(matrix, 4, (a) => canI(`${prefix}-${component}`, ownNs, a));
    const allowed = matrix.filter((_, i) => answers[i]).map(describeAccess);
    expect(allowed.sort()).toEqual(granted(component, ownNs, watched).sort());
  });
});

/** The HTTP status of an API call: 2xx as 200/201, or the ApiException's code. */
async function statusOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 200;
  } catch (err) {
    if (err instanceof ApiException) return err.code;
    throw err;
  }
}

/** Opens a watch and resolves 200 on its first event, or the refusal's status code. */
function watchStatus(kc: KubeConfig, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let controller: AbortController | undefined;
    new Watch(kc)
      .watch(
        path,
        {},
        () => {
          controller?.abort();
          resolve(200);
        },
        (err: (Error & { statusCode?: number }) | null) => {
          if (err?.statusCode) resolve(err.statusCode);
          else if (err && err.name !== 'AbortError') reject(err);
        },
      )
      .then((c) => (controller = c), reject);
  });
}

async function tokenClient(serviceAccount: string, namespace = releaseNs): Promise<KubeConfig> {
  const kc = new KubeConfig();
  kc.loadFromFile(await plane.writeTokenKubeconfig(await plane.tokenFor(namespace, serviceAccount), serviceAccount));
  return kc;
}

/**
 * events.k8s.io wants eventTime as a MicroTime (six fractional digits); the
 * client's Date serialisation gives three, which the API server refuses.
 */
function microTime(): Date {
  return new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

const check = { group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, namespace: checksNs, name: 'example' };
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const serverSideApply = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

describe('real tokens of the chart ServiceAccounts, through the API', () => {
  it('the watcher lists and watches checks everywhere, applies its Stored condition, records Events and keeps its Lease, and nothing more', async () => {
    const kc = await tokenClient('vigil-watcher');
    const objects = kc.makeApiClient(CustomObjectsApi);
    const leases = kc.makeApiClient(CoordinationV1Api);
    const lease = (name: string, holder: string) => ({ metadata: { name }, spec: { holderIdentity: holder, leaseDurationSeconds: 15 } });
    expect(await statusOf(objects.listClusterCustomObject({ group: check.group, version: check.version, plural: check.plural }))).toBe(200);
    expect(await watchStatus(kc, `/apis/${check.group}/${check.version}/${check.plural}`)).toBe(200);
    expect(await statusOf(leases.createNamespacedLease({ namespace: releaseNs, body: lease('vigil-watcher', 'watcher-0') }))).toBe(200);
    const current = await leases.readNamespacedLease({ namespace: releaseNs, name: 'vigil-watcher' });
    expect(await statusOf(leases.replaceNamespacedLease({ namespace: releaseNs, name: 'vigil-watcher', body: { ...current, spec: { ...current.spec, holderIdentity: 'watcher-1' } } }))).toBe(200);
    // Its Stored condition (Server-Side Apply on /status, its own field manager) and a Warning Event.
    const condition = { type: STORED_CONDITION, status: 'False', reason: STORED_REASONS.refused, message: 'Postgres refused this check', lastTransitionTime: '2026-12-05T08:00:00Z' };
    const applied = { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, metadata: { name: check.name, namespace: check.namespace }, status: { conditions: [condition] } };
    expect(await statusOf(objects.patchNamespacedCustomObjectStatus({ ...check, body: applied, fieldManager: FIELD_MANAGERS.watcher, force: true }, serverSideApply))).toBe(200);
    const involved = { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, namespace: checksNs, name: 'example' };
    const event = { metadata: { name: 'example.refused' }, involvedObject: involved, reason: STORED_REASONS.refused, message: 'refused', type: 'Warning', count: 1, source: { component: 'vigil-watcher' } };
    expect(await statusOf(kc.makeApiClient(CoreV1Api).createNamespacedEvent({ namespace: checksNs, body: event }))).toBe(200);
    // Denied: writing checks, reading them one by one, listing or deleting Leases, Leases elsewhere, Secrets.
    expect(await statusOf(objects.patchNamespacedCustomObject({ ...check, body: { spec: { paused: true } } }, mergePatch))).toBe(403);
    expect(await statusOf(objects.getNamespacedCustomObjectStatus(check))).toBe(403);
    expect(await statusOf(leases.listNamespacedLease({ namespace: releaseNs }))).toBe(403);
    expect(await statusOf(leases.createNamespacedLease({ namespace: checksNs, body: lease('vigil-watcher', 'watcher-0') }))).toBe(403);
    expect(await statusOf(leases.deleteNamespacedLease({ namespace: releaseNs, name: 'vigil-watcher' }))).toBe(403);
    expect(await statusOf(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: releaseNs }))).toBe(403);
  });

  it('the scoped watcher watches its listed namespace and is refused the others', async () => {
    const kc = await tokenClient('scoped-vigil-watcher', scopedNs);
    const objects = kc.makeApiClient(CustomObjectsApi);
    expect(await statusOf(objects.listNamespacedCustomObject({ group: check.group, version: check.version, plural: check.plural, namespace: checksNs }))).toBe(200);
    expect(await watchStatus(kc, `/apis/${check.group}/${check.version}/namespaces/${checksNs}/${check.plural}`)).toBe(200);
    expect(await statusOf(objects.listNamespacedCustomObject({ group: check.group, version: check.version, plural: check.plural, namespace: otherNs }))).toBe(403);
    expect(await statusOf(objects.listClusterCustomObject({ group: check.group, version: check.version, plural: check.plural }))).toBe(403);
  });

  it('the alerter patches check status and records Events, and cannot touch specs or Secrets', async () => {
    const kc = await tokenClient('vigil-alerter');
    const objects = kc.makeApiClient(CustomObjectsApi);
    const status = { status: { state: 'down', code: 0, latencyMs: 3002, since: '2026-06-06T22:41:07Z', reason: 'Timeout' } };
    expect(await statusOf(objects.patchNamespacedCustomObjectStatus({ ...check, body: status }, mergePatch))).toBe(200);
    const involved = { apiVersion: UPTIME_CHECK.apiVersion, kind: UPTIME_CHECK.kind, namespace: checksNs, name: 'example' };
    const core = kc.makeApiClient(CoreV1Api);
    expect(
      await statusOf(
        core.createNamespacedEvent({
          namespace: checksNs,
          body: { metadata: { name: 'example.down' }, involvedObject: involved, reason: 'Down', message: 'Timeout', type: 'Warning', count: 1, source: { component: 'vigil-alerter' } },
        }),
      ),
    ).toBe(200);
    expect(await statusOf(core.patchNamespacedEvent({ namespace: checksNs, name: 'example.down', body: { count: 2 } }, mergePatch))).toBe(200);
    // Denied: what the alerter never calls (reading status back, events.k8s.io
    // Events), the spec, reading checks, Secrets (receivers come from a mounted file).
    expect(await statusOf(objects.getNamespacedCustomObjectStatus(check))).toBe(403);
    expect(
      await statusOf(
        kc.makeApiClient(EventsV1Api).createNamespacedEvent({
          namespace: checksNs,
          body: { metadata: { name: 'example.up' }, eventTime: microTime(), regarding: involved, reason: 'Up', note: 'back', type: 'Normal', action: 'Transition', reportingController: 'vigil.dev/alerter', reportingInstance: 'alerter-0' },
        }),
      ),
    ).toBe(403);
    expect(await statusOf(objects.patchNamespacedCustomObject({ ...check, body: { spec: { paused: true } } }, mergePatch))).toBe(403);
    expect(await statusOf(objects.listNamespacedCustomObject({ group: check.group, version: check.version, plural: check.plural, namespace: checksNs }))).toBe(403);
    expect(await statusOf(core.readNamespacedSecret({ namespace: releaseNs, name: 'vigil-receivers' }))).toBe(403);
  });

  it('the api delegates authentication and authorization, and reads or writes no object', async () => {
    const kc = await tokenClient('vigil-api');
    const objects = kc.makeApiClient(CustomObjectsApi);
    // Checks come to the api from Postgres, never from the API server.
    expect(await statusOf(objects.getNamespacedCustomObject(check))).toBe(403);
    expect(await statusOf(objects.listClusterCustomObject({ group: check.group, version: check.version, plural: check.plural }))).toBe(403);
    expect(await watchStatus(kc, `/apis/${check.group}/${check.version}/${check.plural}`)).toBe(403);
    // Delivery-log auth: who is this caller, and may they get uptimechecks here?
    const callerToken = await plane.tokenFor(releaseNs, 'vigil-watcher');
    const review = await kc.makeApiClient(AuthenticationV1Api).createTokenReview({ body: { spec: { token: callerToken } } });
    expect(review.status?.authenticated).toBe(true);
    expect(review.status?.user?.username).toBe(`system:serviceaccount:${releaseNs}:vigil-watcher`);
    const access = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: {
        spec: {
          user: review.status!.user!.username,
          groups: review.status!.user!.groups,
          resourceAttributes: { verb: 'get', group: check.group, resource: check.plural, namespace: checksNs },
        },
      },
    });
    // The watcher may list/watch but not get: the answer is a real decision, not a rubber stamp.
    expect(access.status?.allowed).toBe(false);
    const listAccess = await kc.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user: review.status!.user!.username, groups: review.status!.user!.groups, resourceAttributes: { verb: 'list', group: check.group, resource: check.plural, namespace: checksNs } } },
    });
    expect(listAccess.status?.allowed).toBe(true);
    // Denied: writes, status, Secrets.
    expect(await statusOf(objects.patchNamespacedCustomObject({ ...check, body: { spec: { paused: true } } }, mergePatch))).toBe(403);
    expect(await statusOf(objects.patchNamespacedCustomObjectStatus({ ...check, body: { status: { state: 'up' } } }, mergePatch))).toBe(403);
    expect(await statusOf(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: releaseNs }))).toBe(403);
  });

  it('the prober gets no token in its pods, and a token minted for it anyway can do nothing', async () => {
    const sa = await plane.kubeConfig().makeApiClient(CoreV1Api).readNamespacedServiceAccount({ namespace: releaseNs, name: 'vigil-prober' });
    expect(sa.automountServiceAccountToken).toBe(false);
    const kc = await tokenClient('vigil-prober');
    const objects = kc.makeApiClient(CustomObjectsApi);
    expect(await statusOf(objects.listClusterCustomObject({ group: check.group, version: check.version, plural: check.plural }))).toBe(403);
    expect(await statusOf(objects.getNamespacedCustomObject(check))).toBe(403);
    expect(await statusOf(kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: releaseNs }))).toBe(403);
    expect(await statusOf(kc.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: releaseNs }))).toBe(403);
  });
});
