// What the chart ships, read from charts/vigil/values.yaml, so a benchmark
// runs a service the way a cluster would and never drifts from the chart.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { WORKSPACE_ROOT } from '@vigil/testing';

/** The prober's NODE_OPTIONS as the chart sets them (`prober.nodeOptions`); '' when unset. */
export async function shippedProberNodeOptions(): Promise<string> {
  const values = loadYaml<{ prober?: { nodeOptions?: string } }>(await readFile(join(WORKSPACE_ROOT, 'charts/vigil/values.yaml'), 'utf8'));
  return values.prober?.nodeOptions ?? '';
}
