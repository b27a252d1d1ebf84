// The parts the Kubernetes load benchmark runs against: a real etcd +
// kube-apiserver (RBAC on) that writes an audit log of exactly the requests
// the status budget covers, the chart's CRD and least-privilege RBAC rendered
// by the built helm (as VigilStack does), a ServiceAccount token per service,
// and a fast native HTTP target on loopback.
import { spawn, execFile } from 'node:child_process';
import { open, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ControlPlane, WORKSPACE_ROOT, installChartBasics } from '@vigil/testing';

const run = promisify(execFile);

/** The release namespace the chart's RBAC is rendered for (the services' "pod namespace"). */
export const RELEASE_NAMESPACE = 'vigil';

// Request level: the body shows which state a status patch carries and which reason an Event has.
// Everything else (the 10,000 creates, the watcher's list/watch) is not logged.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    verbs: [patch]
    resources: [{group: vigil.dev, resources: [uptimechecks/status]}]
  - level: Request
    verbs: [create, patch, update]
    resources: [{group: "", resources: [events]}, {group: events.k8s.io, resources: [events]}]
  - level: None
`;

export interface AuditEntry {
  verb: string;
  user: { username: string };
  objectRef: { resource: string; subresource?: string; namespace?: string; name?: string };
  requestReceivedTimestamp: string;
  responseStatus?: { code: number };
  requestObject?: { status?: { state?: string }; reason?: string };
}

export class AuditedCluster {
  readonly plane: ControlPlane;
  readonly auditLog: string;
  private readonly serviceAccounts: Map<string, string>;

  private constructor(plane: ControlPlane, auditLog: string, serviceAccounts: Map<string, string>) {
    this.plane = plane;
    this.auditLog = auditLog;
    this.serviceAccounts = serviceAccounts;
  }

  static async start(dir: string): Promise<AuditedCluster> {
    const policy = join(dir, 'audit-policy.yaml');
    const auditLog = join(dir, 'audit.log');
    await writeFile(policy, AUDIT_POLICY);
    await writeFile(auditLog, '');
    const plane = await ControlPlane.start({ apiServerArgs: [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLog}`, '--audit-log-mode=blocking'] });
    try {
      return new AuditedCluster(plane, auditLog, await installChartBasics(plane, RELEASE_NAMESPACE));
    } catch (err) {
      await plane.stop();
      throw err;
    }
  }

  /** The user name a service's requests carry in the audit log. */
  userOf(component: 'watcher' | 'alerter'): string {
    return `system:serviceaccount:${RELEASE_NAMESPACE}:${this.serviceAccount(component)}`;
  }

  /** A kubeconfig with a token of the chart's ServiceAccount for `component`. */
  async kubeconfigFor(component: 'watcher' | 'alerter'): Promise<string> {
    return this.plane.writeTokenKubeconfig(await this.plane.tokenFor(RELEASE_NAMESPACE, this.serviceAccount(component), 24 * 3600), `sa-${component}`);
  }

  /** Current end of the audit log, to read only what follows. */
  async auditOffset(): Promise<number> {
    return (await stat(this.auditLog)).size;
  }

  async auditSince(offset: number): Promise<AuditEntry[]> {
    const file = await open(this.auditLog, 'r');
    try {
      const size = (await file.stat()).size;
      const buffer = Buffer.alloc(size - offset);
      await file.read(buffer, 0, buffer.length, offset);
      return buffer
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as AuditEntry);
    } finally {
      await file.close();
    }
  }

  /**
   * apiserver_request_total summed by verb/resource/subresource: the API
   * server's own count, a cross-check on the audit log.
   */
  async requestCounts(): Promise<Map<string, number>> {
    const res = await this.plane.kubectl(['get', '--raw', '/metrics']);
    if (res.code !== 0) throw new Error(`reading kube-apiserver /metrics failed: ${res.stderr}`);
    const counts = new Map<string, number>();
    for (const line of res.stdout.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
      const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
    }
    return counts;
  }

  async stop(): Promise<void> {
    await this.plane.stop();
  }

  private serviceAccount(component: string): string {
    const sa = this.serviceAccounts.get(component);
    if (!sa) throw new Error(`the chart renders no ServiceAccount for ${component}`);
    return sa;
  }
}

/**
 * The prober benchmark's Go target (bench/prober/target: 200 "ok" to every
 * request), built once into `dir` and run as its own process, so the probes'
 * target does not compete with the Node processes for CPU as much as a Node server would.
 */
export async function startNativeTarget(dir: string): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const binary = join(dir, 'http-target');
  await run('go', ['build', '-o', binary, '.'], { cwd: join(WORKSPACE_ROOT, 'bench/prober/target') });
  const child = spawn(binary, ['-addr', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Not left behind when the benchmark dies.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the target exited with ${code}`)));
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim().split('\n')[0])));
  });
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      process.off('exit', kill);
      child.kill('SIGTERM');
      await exited;
    },
  };
}
