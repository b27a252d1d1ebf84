import pg from 'pg';
import type { ControlPlane } from '@vigil/testing';
import { kubectlApply } from './kube.js';

/** An UptimeCheck manifest as JSON for `kubectl apply -f -`. */
export function checkManifest(
  namespace: string,
  name: string,
  url: string,
  spec: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    apiVersion: 'vigil.dev/v1alpha1',
    kind: 'UptimeCheck',
    metadata: { name, namespace },
    spec: { url, interval: '5s', timeout: '2s', ...spec },
  };
}

export async function applyChecks(plane: ControlPlane, manifests: Array<Record<string, unknown>>): Promise<void> {
  await kubectlApply(plane, ['-f', '-'], manifests.map((m) => JSON.stringify(m)).join('\n'));
}

export async function createNamespace(plane: ControlPlane, namespace: string): Promise<void> {
  const result = await plane.kubectl(['create', 'namespace', namespace]);
  if (result.code !== 0) throw new Error(`kubectl create namespace ${namespace}: ${result.stderr}`);
}

/** A small pool on the stack's database, for reading what the services stored. */
export function openDatabase(url: string): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // An outage drill breaks idle connections; the pool replaces them.
  pool.on('error', () => undefined);
  return pool;
}
