import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadYaml, type V1CustomResourceDefinition } from '@kubernetes/client-node';

/** The CRD shipped in the Helm chart, the one source of the resource's schema; relative to the workspace root. */
export const UPTIME_CHECK_CRD_FILE = 'charts/vigil/crds/uptimechecks.vigil.dev.yaml';

/**
 * The CRD as the chart ships it, read from a source checkout (tests and
 * tools: images carry no chart). `workspaceRoot` defaults to the checkout
 * this module lives in, found by its nx.json, so it does not matter whether
 * the module runs from src/ or dist/.
 */
export async function loadUptimeCheckCrd(workspaceRoot: string = findWorkspaceRoot()): Promise<V1CustomResourceDefinition> {
  return loadYaml<V1CustomResourceDefinition>(await readFile(join(workspaceRoot, UPTIME_CHECK_CRD_FILE), 'utf8'));
}

function findWorkspaceRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`${start} is not inside a Vigil source checkout (no nx.json above it): pass the workspace root to loadUptimeCheckCrd`);
  }
}
