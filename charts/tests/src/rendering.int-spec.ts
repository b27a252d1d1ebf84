// The chart as rendered by the built helm: lint, every values set renders, the
// schema refuses mistakes, and every pod is locked down whatever the values.
import { beforeAll, describe, expect, it } from '@jest/globals';
import type { KubernetesObject, V1Container, V1Deployment, V1Ingress, V1Secret, V1Service, V1StatefulSet } from '@kubernetes/client-node';
import {
  CHART_DIR,
  CLOUDNATIVEPG_VALUES,
  EKS_RDS_URL,
  EKS_RDS_VALUES,
  EKS_VALUES,
  EXTERNAL_DB_VALUES,
  KUBE_VERSION,
  SERVICES,
  componentOf,
  ofKind,
  offlineHelm,
  podSpecs,
  renderChart,
  type RenderOptions,
} from './chart.js';

const valueSets: { name: string; options: RenderOptions }[] = [
  { name: 'the defaults', options: {} },
  { name: 'the EKS values', options: { valuesFiles: [EKS_VALUES] } },
  { name: 'the EKS values with RDS', options: { valuesFiles: [EKS_VALUES, EKS_RDS_VALUES], setJson: [`externalDatabase.url=${JSON.stringify(EKS_RDS_URL)}`] } },
  { name: 'the external-database values', options: { valuesFiles: [EXTERNAL_DB_VALUES] } },
  { name: 'the CloudNativePG values', options: { valuesFiles: [CLOUDNATIVEPG_VALUES] } },
  {
    name: 'everything optional switched on',
    options: {
      set: ['prober.autoscaling.enabled=true', 'serviceMonitor.enabled=true', 'watcher.namespaces={team-a,team-b}', 'ingress.host=status.example.com', 'ingress.tlsSecretName=status-tls'],
      setJson: ['networkPolicy.metricsFrom=[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"monitoring"}}}]'],
    },
  },
];

function allContainers(objects: KubernetesObject[]): { owner: string; container: V1Container }[] {
  return podSpecs(objects).flatMap(({ owner, spec }) =>
    [...(spec.initContainers ?? []), ...spec.containers].map((container) => ({ owner: `${owner}:${container.name}`, container })),
  );
}

function env(container: V1Container, name: string): string | undefined {
  return container.env?.find((e) => e.name === name)?.value;
}

describe('the chart, linted and rendered by the built helm', () => {
  it('passes helm lint --strict with the defaults, the EKS and the external-database values', async () => {
    const eksRds = ['-f', EKS_VALUES, '-f', EKS_RDS_VALUES, '--set-json', `externalDatabase.url=${JSON.stringify(EKS_RDS_URL)}`];
    for (const values of [[], ['-f', EKS_VALUES], eksRds, ['-f', EXTERNAL_DB_VALUES], ['-f', CLOUDNATIVEPG_VALUES]]) {
      const result = await offlineHelm(['lint', '--strict', CHART_DIR, '--kube-version', KUBE_VERSION, ...values]);
      expect(`${result.stdout}${result.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(result.code).toBe(0);
    }
  });

  it.each(valueSets)('renders with $name', async ({ options }) => {
    const objects = await renderChart(options);
    expect(ofKind(objects, 'Deployment').map(componentOf).sort()).toEqual(['alerter', 'api', 'prober', 'watcher']);
  });

  it.each([
    { what: 'a misspelt key', set: 'prober.replicas=3', message: "additional properties 'replicas' not allowed" },
    { what: 'a string where a number belongs', set: 'prober.replicaCount=three', message: 'got string, want integer' },
    { what: 'an unknown log level', set: 'logLevel=verbose', message: '/logLevel' },
    { what: 'root as the user', set: 'securityContext.runAsUser=0', message: '/securityContext/runAsUser' },
    { what: 'a receiver secret without the whsec_ prefix', set: 'alerter.receivers[0].name=a,alerter.receivers[0].url=https://r.example,alerter.receivers[0].secrets[0]=hunter2', message: '/alerter/receivers/0/secrets/0' },
    { what: 'a receiver without namespaces', set: 'alerter.receivers[0].name=a,alerter.receivers[0].url=https://r.example,alerter.receivers[0].secrets[0]=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', message: "missing property 'namespaces'" },
    { what: 'a receiver with "*" among names', set: 'alerter.receivers[0].name=a,alerter.receivers[0].url=https://r.example,alerter.receivers[0].secrets[0]=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,alerter.receivers[0].namespaces={*,prod}', message: '/alerter/receivers/0/namespaces' },
    { what: 'an empty publish list', set: 'api.publishNamespaces={}', message: '/api/publishNamespaces' },
    { what: 'a CIDR that is not one', set: 'networkPolicy.kubeApiServer.cidrs={10.0.0.1}', message: '/networkPolicy/kubeApiServer/cidrs/0' },
    { what: 'an unknown top-level key', set: 'replicaCount=2', message: "additional properties 'replicaCount' not allowed" },
  ])('refuses $what, naming the value', async ({ set, message }) => {
    const result = await offlineHelm(['template', 'vigil', CHART_DIR, '--kube-version', KUBE_VERSION, '--set', set]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("values don't meet the specifications of the schema");
    expect(result.stderr).toContain(message);
  });

  it('refuses a receiver with empty namespaces even without the schema, saying how to fix it', async () => {
    const result = await offlineHelm([
      'template', 'vigil', CHART_DIR, '--kube-version', KUBE_VERSION, '--skip-schema-validation',
      '--set-json', 'alerter.receivers=[{"name":"ops","url":"https://hooks.example.com/vigil","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"namespaces":[]}]',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('alerter.receivers[0] (ops): namespaces is required and may not be empty: list the namespaces whose checks it hears about, or ["*"] for every namespace');
  });

  it('refuses an external database without a URL, saying what to set', async () => {
    const result = await offlineHelm(['template', 'vigil', CHART_DIR, '--kube-version', KUBE_VERSION, '--set', 'postgresql.enabled=false']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('set externalDatabase.url');
  });
});

describe.each(valueSets)('every pod rendered with $name', ({ options }) => {
  let objects: KubernetesObject[];
  beforeAll(async () => {
    objects = await renderChart(options);
  });

  it('runs as a fixed non-root user with the RuntimeDefault seccomp profile', () => {
    const pods = podSpecs(objects);
    expect(pods.length).toBeGreaterThanOrEqual(5);
    for (const { owner, spec } of pods) {
      expect({ owner, runAsNonRoot: spec.securityContext?.runAsNonRoot }).toEqual({ owner, runAsNonRoot: true });
      expect({ owner, uid: spec.securityContext?.runAsUser }).toEqual({ owner, uid: expect.any(Number) });
      expect(spec.securityContext!.runAsUser).toBeGreaterThan(0);
      expect({ owner, seccomp: spec.securityContext?.seccompProfile?.type }).toEqual({ owner, seccomp: 'RuntimeDefault' });
    }
  });

  it('has every container read-only, unprivileged and without capabilities', () => {
    for (const { owner, container } of allContainers(objects)) {
      expect({ owner, securityContext: container.securityContext }).toEqual({
        owner,
        securityContext: {
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          seccompProfile: { type: 'RuntimeDefault' },
        },
      });
      expect({ owner, requests: container.resources?.requests !== undefined, memoryLimit: container.resources?.limits?.memory !== undefined }).toEqual({
        owner,
        requests: true,
        memoryLimit: true,
      });
    }
  });

  it('runs each service as node services/<svc>/dist/main.js after the migrate init container', () => {
    for (const deployment of ofKind<V1Deployment>(objects, 'Deployment')) {
      const service = componentOf(deployment)!;
      const spec = deployment.spec!.template.spec!;
      expect(spec.containers.map((c) => c.command)).toEqual([['node', `services/${service}/dist/main.js`]]);
      expect(spec.initContainers?.map((c) => c.name)).toEqual(['migrate']);
      expect(spec.initContainers![0]!.command!.join(' ')).toContain('node libs/db/dist/migrate-cli.js');
      expect(spec.initContainers![0]!.env!.map((e) => e.name)).toContain('DATABASE_URL');
      expect(spec.serviceAccountName).toBe(`vigil-${service}`);
    }
  });

  it('mounts no ServiceAccount token into the prober, and gives every pod its own ServiceAccount', () => {
    const prober = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'prober')!;
    expect(prober.spec!.template.spec!.automountServiceAccountToken).toBe(false);
    const proberSa = ofKind(objects, 'ServiceAccount').find((sa) => sa.metadata?.name === 'vigil-prober') as { automountServiceAccountToken?: boolean };
    expect(proberSa.automountServiceAccountToken).toBe(false);
    // Plus, when the chart generates the demo database's password, its Job's own.
    const passwordJob = ofKind(objects, 'Job').some((j) => j.metadata?.name?.startsWith('vigil-postgres-password-'));
    const expected = [...SERVICES.map((s) => `vigil-${s}`), ...(passwordJob ? ['vigil-postgres-password'] : [])];
    expect(ofKind(objects, 'ServiceAccount').map((sa) => sa.metadata?.name).sort()).toEqual(expected.sort());
  });

  it('probes /healthz and /readyz on the ops port and lets the api drain before it stops', () => {
    for (const deployment of ofKind<V1Deployment>(objects, 'Deployment')) {
      const container = deployment.spec!.template.spec!.containers[0]!;
      const api = componentOf(deployment) === 'api';
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      expect(container.ports?.map((p) => [p.name, p.containerPort])).toEqual(api ? [['http', 8080], ['ops', 9090]] : [['ops', 9090]]);
      // The ports the container serves on are the ones its service reads: OPS_PORT, and the api's PORT.
      expect(env(container, 'OPS_PORT')).toBe('9090');
      if (api) expect(env(container, 'PORT')).toBe('8080');
    }
    const api = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'api')!.spec!.template.spec!;
    const sleep = api.containers[0]!.lifecycle!.preStop!.sleep!.seconds;
    expect(sleep).toBeGreaterThan(0);
    expect(api.terminationGracePeriodSeconds).toBeGreaterThan(sleep);
    expect(env(api.containers[0]!, 'PORT')).toBe('8080');
  });

  it('keeps the database password out of every URL and manifest value', () => {
    for (const { owner, container } of allContainers(objects)) {
      const url = container.env?.find((e) => e.name === 'DATABASE_URL')?.value;
      if (url === undefined) continue;
      // scheme://user@host, never scheme://user:password@host
      expect({ owner, url }).toEqual({ owner, url: expect.stringMatching(/^postgres(ql)?:\/\/[^:/@]+@/) });
    }
  });
});

describe('values that change what is rendered', () => {
  it('writes receivers into a Secret mounted into the alerter as /etc/vigil/receivers/receivers.json', async () => {
    const objects = await renderChart({
      setJson: ['alerter.receivers=[{"name":"ops","url":"https://hooks.example.com/vigil","secrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"namespaces":["prod"]}]'],
    });
    const secret = ofKind<V1Secret>(objects, 'Secret').find((s) => s.metadata?.name === 'vigil-receivers')!;
    expect(JSON.parse(secret.stringData!['receivers.json']!)).toEqual({
      receivers: [
        { name: 'ops', url: 'https://hooks.example.com/vigil', secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'], namespaces: ['prod'], matchLabels: {}, events: ['check.down', 'check.up'] },
      ],
    });
    const alerter = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'alerter')!.spec!.template.spec!;
    expect(alerter.volumes).toMatchObject([{ name: 'receivers', secret: { secretName: 'vigil-receivers', defaultMode: 0o440 } }]);
    expect(alerter.containers[0]!.volumeMounts).toMatchObject([{ name: 'receivers', mountPath: '/etc/vigil/receivers', readOnly: true }]);
    expect(env(alerter.containers[0]!, 'RECEIVERS_FILE')).toBe('/etc/vigil/receivers/receivers.json');
  });

  it('passes the status page publish scope and name display to the api: every namespace and no names by default', async () => {
    const apiEnv = async (options: Parameters<typeof renderChart>[0]) => {
      const api = ofKind<V1Deployment>(await renderChart(options), 'Deployment').find((d) => componentOf(d) === 'api')!.spec!.template.spec!.containers[0]!;
      return [env(api, 'STATUS_PAGE_NAMESPACES'), env(api, 'STATUS_PAGE_GROUPS'), env(api, 'STATUS_PAGE_SHOW_NAMES')];
    };
    expect(await apiEnv({})).toEqual(['*', '*', 'false']);
    expect(await apiEnv({ setJson: ['api.publishNamespaces=["shop","payments"]', 'api.publishGroups=["Websites","Public APIs"]', 'api.showNames=true'] })).toEqual([
      'shop,payments',
      'Websites,Public APIs',
      'true',
    ]);
  });

  it('uses an existing receivers Secret instead of writing one', async () => {
    const objects = await renderChart({ set: ['alerter.existingReceiversSecret=my-receivers'] });
    expect(ofKind(objects, 'Secret').map((s) => s.metadata?.name)).not.toContain('vigil-receivers');
    const alerter = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'alerter')!.spec!.template.spec!;
    expect(alerter.volumes![0]!.secret!.secretName).toBe('my-receivers');
  });

  it('scales the prober with an HPA instead of a fixed replica count when autoscaling is on', async () => {
    const objects = await renderChart({ set: ['prober.autoscaling.enabled=true', 'prober.autoscaling.maxReplicas=7'] });
    const hpa = ofKind(objects, 'HorizontalPodAutoscaler')[0] as unknown as { spec: { maxReplicas: number; scaleTargetRef: { name: string } } };
    expect(hpa.spec).toMatchObject({ maxReplicas: 7, scaleTargetRef: { name: 'vigil-prober' } });
    const prober = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'prober')!;
    expect(prober.spec!.replicas).toBeUndefined();
  });

  it('bounds the prober’s V8 heap through NODE_OPTIONS by default, and leaves V8 alone when nodeOptions is emptied', async () => {
    const proberContainer = (objects: KubernetesObject[]) =>
      ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'prober')!.spec!.template.spec!.containers[0]!;
    expect(env(proberContainer(await renderChart({})), 'NODE_OPTIONS')).toBe('--max-semi-space-size=4 --max-old-space-size=128');
    expect(env(proberContainer(await renderChart({ set: ['prober.nodeOptions=--max-old-space-size=256'] })), 'NODE_OPTIONS')).toBe('--max-old-space-size=256');
    expect(proberContainer(await renderChart({ set: ['prober.nodeOptions='] })).env!.map((e) => e.name)).not.toContain('NODE_OPTIONS');
  });

  it('routes only the api’s public port through the Ingress; metrics are scraped from the ops port', async () => {
    const objects = await renderChart({ set: ['serviceMonitor.enabled=true'] });
    const [ingress] = ofKind<V1Ingress>(objects, 'Ingress');
    const backends = ingress!.spec!.rules!.flatMap((r) => r.http!.paths.map((p) => p.backend.service));
    expect(backends).toEqual([{ name: 'vigil-api', port: { name: 'http' } }]);
    const service = ofKind<V1Service>(objects, 'Service').find((s) => s.metadata?.name === 'vigil-api')!;
    expect(service.spec!.ports!.map((p) => [p.name, p.port, p.targetPort])).toEqual([
      ['http', 80, 'http'],
      ['ops', 9090, 'ops'],
    ]);
    const monitors = ofKind<KubernetesObject & { spec: { endpoints: Array<{ port: string; path: string }> } }>(objects, 'ServiceMonitor');
    expect(monitors.map((m) => [m.metadata?.name, m.spec.endpoints])).toEqual(
      SERVICES.map((s) => [`vigil-${s}`, [expect.objectContaining({ port: 'ops', path: '/metrics' })]]),
    );
  });

  it('routes the EKS ingress through the ALB with IP targets', async () => {
    const [ingress] = ofKind<V1Ingress>(await renderChart({ valuesFiles: [EKS_VALUES] }), 'Ingress');
    expect(ingress!.spec!.ingressClassName).toBe('alb');
    expect(ingress!.metadata!.annotations).toMatchObject({ 'alb.ingress.kubernetes.io/target-type': 'ip', 'alb.ingress.kubernetes.io/healthcheck-path': '/readyz' });
    expect(ingress!.spec!.rules![0]!.http!.paths[0]!.backend.service).toEqual({ name: 'vigil-api', port: { name: 'http' } });
  });

  it('serves the EKS ingress over HTTPS only: 443, a redirect from 80, HSTS', async () => {
    const [ingress] = ofKind<V1Ingress>(await renderChart({ valuesFiles: [EKS_VALUES] }), 'Ingress');
    const annotations = ingress!.metadata!.annotations!;
    expect(JSON.parse(annotations['alb.ingress.kubernetes.io/listen-ports']!)).toEqual([{ HTTP: 80 }, { HTTPS: 443 }]);
    expect(annotations['alb.ingress.kubernetes.io/ssl-redirect']).toBe('443');
    expect(annotations['alb.ingress.kubernetes.io/load-balancer-attributes']!.split(',')).toContain(
      'routing.http.response.strict_transport_security.header_value=max-age=31536000; includeSubDomains',
    );
  });

  it('keeps the demo Postgres of the EKS values on a gp3 PersistentVolumeClaim', async () => {
    const [postgres] = ofKind<V1StatefulSet>(await renderChart({ valuesFiles: [EKS_VALUES] }), 'StatefulSet');
    const [claim] = postgres!.spec!.volumeClaimTemplates!;
    expect(claim!.spec!.storageClassName).toBe('gp3');
    expect(postgres!.spec!.template.spec!.volumes!.map((v) => v.name)).not.toContain('data');
  });

  it('connects to RDS with the EKS values, TLS verified against the mounted CA bundle', async () => {
    const objects = await renderChart({ valuesFiles: [EKS_VALUES, EKS_RDS_VALUES], setJson: [`externalDatabase.url=${JSON.stringify(EKS_RDS_URL)}`] });
    expect(ofKind(objects, 'StatefulSet')).toEqual([]);
    const withDatabase = allContainers(objects).filter(({ container }) => env(container, 'DATABASE_URL') !== undefined);
    expect(withDatabase.length).toBe(8); // four services and their migrate init containers
    for (const { owner, container } of withDatabase) {
      expect({ owner, url: env(container, 'DATABASE_URL') }).toEqual({ owner, url: EKS_RDS_URL });
      expect({ owner, password: container.env!.find((e) => e.name === 'PGPASSWORD')!.valueFrom }).toEqual({ owner, password: { secretKeyRef: { name: 'vigil-db', key: 'password' } } });
      expect({ owner, mounts: container.volumeMounts }).toEqual({ owner, mounts: expect.arrayContaining([{ name: 'db-ca', mountPath: '/etc/vigil/db-ca', readOnly: true }]) });
    }
    for (const { owner, spec } of podSpecs(objects).filter(({ spec }) => spec.initContainers?.some((c) => c.name === 'migrate'))) {
      expect({ owner, volumes: spec.volumes }).toEqual({ owner, volumes: expect.arrayContaining([{ name: 'db-ca', configMap: { name: 'vigil-db-ca' } }]) });
    }
  });

  it('reads the external database URL and password from the existing Secret', async () => {
    const objects = await renderChart({ valuesFiles: [EXTERNAL_DB_VALUES] });
    expect(ofKind(objects, 'StatefulSet')).toEqual([]);
    const watcher = ofKind<V1Deployment>(objects, 'Deployment').find((d) => componentOf(d) === 'watcher')!.spec!.template.spec!.containers[0]!;
    expect(env(watcher, 'DATABASE_URL')).toBe('postgres://vigil@vigil-db.example.internal:5432/vigil?sslmode=no-verify');
    expect(watcher.env!.find((e) => e.name === 'PGPASSWORD')!.valueFrom).toEqual({ secretKeyRef: { name: 'vigil-db', key: 'password' } });
  });

  it('names every object within 63 characters with a long release name, keeping app.kubernetes.io labels', async () => {
    const releaseName = 'a-very-long-release-name-at-helms-limit-of-53-letters';
    const objects = await renderChart({ releaseName });
    for (const o of objects) {
      expect({ name: o.metadata!.name, length: o.metadata!.name!.length <= 63 }).toEqual({ name: o.metadata!.name, length: true });
      expect(o.metadata!.name).not.toMatch(/-$/);
      if (o.kind === 'CustomResourceDefinition') continue;
      expect(o.metadata!.labels).toMatchObject({ 'app.kubernetes.io/name': 'vigil', 'app.kubernetes.io/instance': releaseName.slice(0, 63), 'app.kubernetes.io/managed-by': 'Helm' });
    }
    const names = ofKind(objects, 'Deployment').map((d) => d.metadata!.name);
    expect(new Set(names).size).toBe(4);
  });
});
