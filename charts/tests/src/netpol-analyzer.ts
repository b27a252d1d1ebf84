// cyclonus (github.com/mattfenwick/cyclonus), built from the Go module proxy
// by tools/build-netpol-analyzer.sh, answers "is this flow allowed?" for a set
// of NetworkPolicies offline (`cyclonus analyze --mode query-traffic`).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dumpYaml, type KubernetesObject } from '@kubernetes/client-node';
import { WORKSPACE_ROOT } from '@vigil/testing';

const run = promisify(execFile);

export async function cyclonusBinary(): Promise<string> {
  try {
    const { stdout } = await run(join(WORKSPACE_ROOT, 'tools/build-netpol-analyzer.sh'), ['--check']);
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the NetworkPolicy analyzer (cyclonus) is missing: ${(e.stderr ?? e.message).trim()}\n` +
        'Build it with `make netpol-analyzer` (tools/build-netpol-analyzer.sh, from the Go module proxy).',
    );
  }
}

/** One end of a flow: a pod (namespace, its labels, the pod's labels) or an address outside the cluster. */
export type Peer =
  | { pod: { namespace: string; labels: Record<string, string> }; ip: string }
  | { ip: string };

export interface Flow {
  from: Peer;
  to: Peer;
  port: number;
  protocol: 'TCP' | 'UDP';
}

/** The labels every namespace carries since Kubernetes 1.21 (what namespaceSelectors match). */
function namespaceLabels(namespace: string): Record<string, string> {
  return { 'kubernetes.io/metadata.name': namespace };
}

function trafficPeer(peer: Peer): object {
  if ('pod' in peer) {
    return { Internal: { Namespace: peer.pod.namespace, NamespaceLabels: namespaceLabels(peer.pod.namespace), PodLabels: peer.pod.labels }, IP: peer.ip };
  }
  return { IP: peer.ip };
}

export interface Analysis {
  /** cyclonus's verdict for each flow, in order. */
  allowed: boolean[];
  /** The `namespace/name` of every policy cyclonus read. */
  policiesRead: string[];
}

/**
 * Runs cyclonus over `policies` (one file each: it reads a single policy or a
 * NetworkPolicyList per file) and `flows`; returns its verdicts.
 */
export async function analyze(policies: KubernetesObject[], flows: Flow[]): Promise<Analysis> {
  const binary = await cyclonusBinary();
  const dir = await mkdtemp(join(tmpdir(), 'vigil-netpol-'));
  try {
    const policyDir = join(dir, 'policies');
    await mkdir(policyDir);
    await Promise.all(policies.map((p, i) => writeFile(join(policyDir, `policy-${i}.yaml`), dumpYaml(p))));
    const trafficPath = join(dir, 'traffic.json');
    await writeFile(
      trafficPath,
      JSON.stringify(flows.map((f) => ({ Source: trafficPeer(f.from), Destination: trafficPeer(f.to), ResolvedPort: f.port, ResolvedPortName: '', Protocol: f.protocol }))),
    );
    const { stdout } = await run(binary, ['analyze', '--policy-path', policyDir, '--mode', 'parse,query-traffic', '--traffic-path', trafficPath], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // The parse table lists each policy as "| namespace/name |"; each query ends
    // with a footer "| IS ALLOWED? | TRUE |" (or FALSE).
    const policiesRead = [...stdout.matchAll(/^\|\s*([a-z0-9-]+\/[a-z0-9-]+)\s*\|/gm)].map((m) => m[1]!);
    const allowed = [...stdout.matchAll(/^\|\s*IS ALLOWED\?\s*\|\s*(TRUE|FALSE)\s*\|/gm)].map((m) => m[1] === 'TRUE');
    if (allowed.length !== flows.length) throw new Error(`cyclonus answered ${allowed.length} of ${flows.length} flows:\n${stdout.slice(0, 4000)}`);
    return { allowed, policiesRead: [...new Set(policiesRead)] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
