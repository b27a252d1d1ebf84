import { readFile } from 'node:fs/promises';
import { loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';

/** The CRD shipped in the Helm chart: the one source of the resource's schema. */
export const CRD_PATH = new URL('../../../charts/vigil/crds/uptimechecks.vigil.dev.yaml', import.meta.url);

export async function loadUptimeCheckCrd(): Promise<V1CustomResourceDefinition> {
  return loadYaml<V1CustomResourceDefinition>(await readFile(CRD_PATH, 'utf8'));
}
