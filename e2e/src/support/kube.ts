import type { UptimeCheck } from '@vigil/k8s';
import type { ControlPlane } from '@vigil/testing';

/** The UptimeChecks of a namespace as kubectl (the built one) returns them. */
export async function listChecks(plane: ControlPlane, namespace: string): Promise<UptimeCheck[]> {
  const result = await plane.kubectl(['get', 'uptimechecks', '-n', namespace, '-o', 'json']);
  if (result.code !== 0) throw new Error(`kubectl get uptimechecks: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { items: UptimeCheck[] }).items;
}

export async function checkByName(plane: ControlPlane, namespace: string, name: string): Promise<UptimeCheck | undefined> {
  return (await listChecks(plane, namespace)).find((c) => c.metadata.name === name);
}

/** Applies YAML or a file/folder with the built kubectl, failing loudly. */
export async function kubectlApply(plane: ControlPlane, args: string[], stdin?: string): Promise<string> {
  const result = await plane.kubectl(['apply', ...args], stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`kubectl apply ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}
