import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createCertificates, type ControlPlaneCertificates } from './certificates.js';
import { freePort, startProcess, type ManagedProcess } from './processes.js';

const run = promisify(execFile);

export const WORKSPACE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The directory holding etcd, kube-apiserver, kube-controller-manager, kubectl
 * and helm: KUBEBUILDER_ASSETS when set, else the cache that
 * tools/build-control-plane.sh fills. Throws, saying how to build them, when
 * any is missing; it never builds inside a test.
 */
export async function controlPlaneBinDir(): Promise<string> {
  try {
    const { stdout } = await run(join(WORKSPACE_ROOT, 'tools/build-control-plane.sh'), ['--check']);
    return stdout.trim();
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the Kubernetes control-plane binaries are missing: ${(e.stderr ?? e.message).trim()}\n` +
        'Build them with `make control-plane` (or point KUBEBUILDER_ASSETS at a directory holding etcd, kube-apiserver, kube-controller-manager, kubectl and helm).',
    );
  }
}

export interface ControlPlaneOptions {
  /** Also run kube-controller-manager (namespace deletion, garbage collection, ReplicaSets, service-account creation). */
  controllerManager?: boolean;
  /** Extra kube-apiserver flags, e.g. a small watch cache. */
  apiServerArgs?: string[];
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

/**
 * A real etcd + kube-apiserver (+ kube-controller-manager) on free loopback
 * ports, run the way controller-runtime's envtest does, with RBAC authorization
 * on, an admin client certificate, and service-account token signing.
 */
export class ControlPlane {
  private etcd?: ManagedProcess;
  private apiServer?: ManagedProcess;
  private controllerManager?: ManagedProcess;

  private constructor(
    readonly dir: string,
    readonly binDir: string,
    readonly certs: ControlPlaneCertificates,
    readonly etcdPort: number,
    readonly apiServerPort: number,
    readonly kubeconfigPath: string,
    private apiServerArgs: string[],
  ) {}

  static async start(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const binDir = await controlPlaneBinDir();
    const dir = await mkdtemp(join(tmpdir(), 'vigil-cp-'));
    const certs = await createCertificates(dir);
    const [etcdPort, apiServerPort] = [await freePort(), await freePort()];
    const kubeconfigPath = join(dir, 'admin.kubeconfig');
    const plane = new ControlPlane(dir, binDir, certs, etcdPort, apiServerPort, kubeconfigPath, options.apiServerArgs ?? []);
    await writeFile(kubeconfigPath, await plane.kubeconfigYaml({ clientCert: certs.adminCert, clientKey: certs.adminKey }));
    try {
      await plane.startEtcd();
      await plane.startApiServer();
      if (options.controllerManager) await plane.startControllerManager();
    } catch (err) {
      await plane.stop();
      throw err;
    }
    return plane;
  }

  get server(): string {
    return `https://127.0.0.1:${this.apiServerPort}`;
  }

  /** An admin (system:masters) client for the harness's own setup work. */
  kubeConfig(): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromFile(this.kubeconfigPath);
    return kc;
  }

  private async startEtcd(): Promise<void> {
    const peerPort = await freePort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const client = `http://127.0.0.1:${this.etcdPort}`;
    await mkdir(join(this.dir, 'etcd'), { recursive: true });
    this.etcd = startProcess(
      'etcd',
      join(this.binDir, 'etcd'),
      [
        '--name=default',
        `--data-dir=${join(this.dir, 'etcd')}`,
        `--listen-client-urls=${client}`,
        `--advertise-client-urls=${client}`,
        `--listen-peer-urls=${peer}`,
        `--initial-advertise-peer-urls=${peer}`,
        `--initial-cluster=default=${peer}`,
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      { logFile: join(this.dir, 'etcd.log') },
    );
    await this.waitHealthy(this.etcd, 'etcd', async () => (await fetch(`${client}/health`)).ok);
  }

  /** (Re)starts kube-apiserver on the same port and data; `extraArgs` replace those given at start. */
  async startApiServer(extraArgs?: string[]): Promise<void> {
    if (extraArgs) this.apiServerArgs = extraArgs;
    const c = this.certs;
    this.apiServer = startProcess(
      'kube-apiserver',
      join(this.binDir, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${this.etcdPort}`,
        '--bind-address=127.0.0.1',
        // Needed on machines without a default route.
        '--advertise-address=127.0.0.1',
        // The kubernetes Service's endpoints cannot point at loopback; nothing here needs them.
        '--endpoint-reconciler-type=none',
        `--secure-port=${this.apiServerPort}`,
        `--cert-dir=${join(this.dir, 'apiserver-certs')}`,
        `--tls-cert-file=${c.servingCert}`,
        `--tls-private-key-file=${c.servingKey}`,
        `--client-ca-file=${c.caCert}`,
        '--authorization-mode=RBAC',
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${c.serviceAccountPub}`,
        `--service-account-signing-key-file=${c.serviceAccountKey}`,
        '--service-cluster-ip-range=10.96.0.0/12',
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        ...this.apiServerArgs,
      ],
      { logFile: join(this.dir, 'kube-apiserver.log') },
    );
    await this.waitHealthy(this.apiServer, 'kube-apiserver', async () => (await this.get('/readyz')).status === 200, 90_000);
  }

  async stopApiServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.apiServer?.stop(signal);
    this.apiServer = undefined;
  }

  async startControllerManager(): Promise<void> {
    const port = await freePort();
    this.controllerManager = startProcess(
      'kube-controller-manager',
      join(this.binDir, 'kube-controller-manager'),
      [
        `--kubeconfig=${this.kubeconfigPath}`,
        `--authentication-kubeconfig=${this.kubeconfigPath}`,
        `--authorization-kubeconfig=${this.kubeconfigPath}`,
        '--bind-address=127.0.0.1',
        `--secure-port=${port}`,
        '--leader-elect=false',
        `--root-ca-file=${this.certs.caCert}`,
        `--service-account-private-key-file=${this.certs.serviceAccountKey}`,
        '--controllers=*',
      ],
      { logFile: join(this.dir, 'kube-controller-manager.log') },
    );
    await this.waitHealthy(this.controllerManager, 'kube-controller-manager', async () => {
      const res = await new Promise<number>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false }, (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        })
          .on('error', reject)
          .end();
      });
      return res === 200;
    });
  }

  /** A short-lived token of a ServiceAccount, minted through the TokenRequest API like a kubelet would. */
  async tokenFor(namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<string> {
    const core = this.kubeConfig().makeApiClient(CoreV1Api);
    const res = await core.createNamespacedServiceAccountToken({
      namespace,
      name: serviceAccount,
      body: { spec: { audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds } },
    });
    if (!res.status?.token) throw new Error(`no token returned for ${namespace}/${serviceAccount}`);
    return res.status.token;
  }

  /** Writes a kubeconfig that authenticates with `token` and returns its path. */
  async writeTokenKubeconfig(token: string, name: string): Promise<string> {
    const path = join(this.dir, `${name}.kubeconfig`);
    await writeFile(path, await this.kubeconfigYaml({ token }), { mode: 0o600 });
    return path;
  }

  /** Runs the built kubectl against this control plane (admin unless another kubeconfig is given). */
  async kubectl(args: string[], options: { kubeconfig?: string; stdin?: string } = {}): Promise<CommandResult> {
    return new Promise((resolve) => {
      const child = execFile(
        join(this.binDir, 'kubectl'),
        args,
        { env: { ...process.env, KUBECONFIG: options.kubeconfig ?? this.kubeconfigPath }, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    });
  }

  /** Runs the built helm against this control plane. */
  async helm(args: string[]): Promise<CommandResult> {
    return new Promise((resolve) => {
      execFile(
        join(this.binDir, 'helm'),
        args,
        { env: { ...process.env, KUBECONFIG: this.kubeconfigPath, HELM_CACHE_HOME: join(this.dir, 'helm-cache'), HELM_CONFIG_HOME: join(this.dir, 'helm-config') }, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  async stop(): Promise<void> {
    await this.controllerManager?.stop();
    await this.apiServer?.stop();
    await this.etcd?.stop();
    await rm(this.dir, { recursive: true, force: true });
  }

  private async kubeconfigYaml(user: { clientCert: string; clientKey: string } | { token: string }): Promise<string> {
    const b64 = async (file: string) => (await readFile(file)).toString('base64');
    const userLines =
      'token' in user
        ? `    token: ${user.token}`
        : `    client-certificate-data: ${await b64(user.clientCert)}\n    client-key-data: ${await b64(user.clientKey)}`;
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: vigil-test',
      '  cluster:',
      `    server: ${this.server}`,
      `    certificate-authority-data: ${await b64(this.certs.caCert)}`,
      'users:',
      '- name: user',
      '  user:',
      userLines,
      'contexts:',
      '- name: vigil-test',
      '  context:',
      '    cluster: vigil-test',
      '    user: user',
      'current-context: vigil-test',
      '',
    ].join('\n');
  }

  /** GET with the admin certificate, for health checks before any client is useful. */
  private async get(path: string): Promise<{ status: number; body: string }> {
    const [ca, cert, key] = await Promise.all([this.certs.caCert, this.certs.adminCert, this.certs.adminKey].map((f) => readFile(f)));
    return new Promise((resolve, reject) => {
      request({ host: '127.0.0.1', port: this.apiServerPort, path, ca, cert, key }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
  }

  private async waitHealthy(proc: ManagedProcess, what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exitedWith: number | string | undefined;
    void proc.exited.then((code) => (exitedWith = code));
    for (;;) {
      if (exitedWith !== undefined || Date.now() > deadline) {
        const why = exitedWith !== undefined ? `${what} exited (${exitedWith})` : `${what} not healthy after ${timeoutMs} ms`;
        throw new Error(`${why}\n--- last lines of ${proc.logFile} ---\n${await proc.logTail()}`);
      }
      if (await probe().catch(() => false)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
