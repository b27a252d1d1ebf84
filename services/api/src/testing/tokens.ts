// Delivery-log tokens as an operator mints them: `kubectl create token <sa> --audience vigil`.
import { CoreV1Api } from '@kubernetes/client-node';
import type { ControlPlane } from '@vigil/testing';

export async function audienceToken(plane: ControlPlane, namespace: string, serviceAccount: string, audience = 'vigil'): Promise<string> {
  const res = await plane
    .kubeConfig()
    .makeApiClient(CoreV1Api)
    .createNamespacedServiceAccountToken({ namespace, name: serviceAccount, body: { spec: { audiences: [audience], expirationSeconds: 3600 } } });
  if (!res.status?.token) throw new Error(`no token returned for ${namespace}/${serviceAccount}`);
  return res.status.token;
}

/** The sum of every sample of `metric` whose labels contain all of `labels` (`name="value"` pairs), in Prometheus text. */
export function sumSamples(text: string, metric: string, labels: string[] = []): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`) || line.startsWith(`${metric} `))
    .filter((line) => labels.every((label) => line.includes(label)))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}
