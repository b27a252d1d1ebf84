// Helpers for the chart's tests: the built helm and kubectl (from
// tools/build-control-plane.sh), rendering the chart, and reading what it renders.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAllYaml, type KubernetesObject, type V1PodSpec } from '@kubernetes/client-node';
import { WORKSPACE_ROOT, controlPlaneBinDir, type CommandResult } from '@vigil/testing';

export const CHART_DIR = join(WORKSPACE_ROOT, 'charts/vigil');
export const EKS_VALUES = join(CHART_DIR, 'values-eks.yaml');
export const EKS_RDS_VALUES = join(CHART_DIR, 'values-eks-rds.yaml');
/** What Terraform's helm_values output adds for RDS (`make eks-deploy`): the URL, TLS verified against the mounted CA. */
export const EKS_RDS_URL = 'postgres://vigil@vigil-db.c0ffee123456.eu-west-1.rds.amazonaws.com:5432/vigil?sslmode=verify-full&sslrootcert=/etc/vigil/db-ca/ca.pem';
export const EXTERNAL_DB_VALUES = join(CHART_DIR, 'ci/external-db-values.yaml');
export const CLOUDNATIVEPG_VALUES = join(CHART_DIR, 'ci/cloudnativepg-values.yaml');

/** The Kubernetes version `helm template` renders for: the one the test control plane runs. */
export const KUBE_VERSION = 'v1.37.2';

export const SERVICES = ['watcher', 'prober', 'alerter', 'api'] as const;
export type Service = (typeof SERVICES)[number];

function run(binary: string, args: string[], env: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(binary, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/**
 * The built helm, for commands that need no cluster (lint, template), with its
 * cache and config in a throwaway directory.
 */
export async function offlineHelm(args: string[]): Promise<CommandResult> {
  const home = await mkdtemp(join(tmpdir(), 'vigil-helm-'));
  try {
    return await run(join(await controlPlaneBinDir(), 'helm'), args, {
      HELM_CACHE_HOME: join(home, 'cache'),
      HELM_CONFIG_HOME: join(home, 'config'),
      HELM_DATA_HOME: join(home, 'data'),
      KUBECONFIG: join(home, 'no-cluster'),
    });
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

export interface RenderOptions {
  valuesFiles?: string[];
  set?: string[];
  setJson?: string[];
  releaseName?: string;
  namespace?: string;
}

export function valuesArgs({ valuesFiles = [], set = [], setJson = [] }: RenderOptions): string[] {
  return [...valuesFiles.flatMap((f) => ['-f', f]), ...set.flatMap((s) => ['--set', s]), ...setJson.flatMap((s) => ['--set-json', s])];
}

/** `helm template` of the chart; fails the test with helm's message if it does not render. */
export async function renderChart(options: RenderOptions = {}): Promise<KubernetesObject[]> {
  const result = await offlineHelm([
    'template',
    options.releaseName ?? 'vigil',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'vigil',
    '--kube-version',
    KUBE_VERSION,
    ...valuesArgs(options),
  ]);
  if (result.code !== 0) throw new Error(`helm template failed (${result.code}): ${result.stderr}`);
  return loadAllYaml(result.stdout).filter((doc): doc is KubernetesObject => doc !== null && typeof doc === 'object');
}

export function ofKind<T extends KubernetesObject = KubernetesObject>(objects: KubernetesObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as T[];
}

/** Every pod template the objects define (Deployments, StatefulSets, bare Pods such as the helm test). */
export function podSpecs(objects: KubernetesObject[]): { owner: string; spec: V1PodSpec }[] {
  return objects.flatMap((o) => {
    const name = `${o.kind}/${o.metadata?.name}`;
    if (o.kind === 'Pod') return [{ owner: name, spec: (o as unknown as { spec: V1PodSpec }).spec }];
    const template = (o as unknown as { spec?: { template?: { spec?: V1PodSpec } } }).spec?.template?.spec;
    return template ? [{ owner: name, spec: template }] : [];
  });
}

/** The component label of an object. */
export function componentOf(o: KubernetesObject): string | undefined {
  return o.metadata?.labels?.['app.kubernetes.io/component'];
}
