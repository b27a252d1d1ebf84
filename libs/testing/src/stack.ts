import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { TestCertificateAuthority } from './certificates.js';
import { installChartBasics } from './chart-basics.js';
import { ControlPlane, WORKSPACE_ROOT } from './control-plane.js';
import { startControlPlaneAndPostgres } from './control-plane-and-postgres.js';
import { DnsStub } from './dns-stub.js';
import { HttpTarget, UP } from './http-target.js';
import { PostgresServer, type TestDatabase } from './postgres.js';
import { freePort, startProcess } from './processes.js';
import { startService, waitForReady, type ServiceName, type ServiceProcess } from './services.js';
import { WebhookReceiver } from './webhook-receiver.js';

export interface StackOptions {
  watchers?: number;
  probers?: number;
  alerters?: number;
  apis?: number;
  /** Port of the (first) api; a free one when unset. */
  apiPort?: number;
  /** Extra environment per service kind, e.g. shorter leases in tests. */
  env?: Partial<Record<ServiceName, Record<string, string>>>;
  /** Where service logs go; a temporary folder when unset. */
  logDir?: string;
}

/** The release the chart's RBAC is rendered for. */
export const STACK_NAMESPACE = 'vigil';

/**
 * The whole system on this machine: a real control plane (with
 * kube-controller-manager), a real Postgres, the chart's CRD and RBAC rendered
 * by the built helm and applied, and the four services as processes, each
 * with a token of its own chart ServiceAccount. Around them: a DNS stub that
 * serves example.com and github.com from HTTPS stand-ins on loopback (signed
 * by a test CA the probers trust), and a webhook receiver that verifies every
 * delivery with the reference library.
 */
export class VigilStack {
  readonly services = new Map<string, ServiceProcess>();
  readonly sites = new Map<string, HttpTarget>();
  private readonly tokens = new Map<ServiceName, string>();
  private serviceAccounts = new Map<string, string>();
  private receiversFile = '';

  private constructor(
    readonly dir: string,
    readonly logDir: string,
    readonly plane: ControlPlane,
    readonly postgres: PostgresServer,
    readonly db: TestDatabase,
    readonly dns: DnsStub,
    readonly sitesCa: TestCertificateAuthority,
    readonly receiver: WebhookReceiver,
    readonly receiverSecret: string,
    private readonly options: StackOptions,
  ) {}

  static async start(options: StackOptions = {}): Promise<VigilStack> {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-stack-'));
    const logDir = options.logDir ?? join(dir, 'logs');
    await mkdir(logDir, { recursive: true });
    const { plane, postgres } = await startControlPlaneAndPostgres({ controllerManager: true });
    const db = await postgres.createDatabase('vigil');
    const dns = await DnsStub.start();
    const sitesCa = await TestCertificateAuthority.create(dir, 'sites-ca');
    const receiverSecret = `whsec_${randomBytes(24).toString('base64')}`;
    const receiver = await WebhookReceiver.start([receiverSecret]);
    const stack = new VigilStack(dir, logDir, plane, postgres, db, dns, sitesCa, receiver, receiverSecret, options);
    try {
      await stack.migrate();
      stack.serviceAccounts = await installChartBasics(plane, STACK_NAMESPACE);
      await stack.writeReceivers();
      // Real-looking sites on their own loopback addresses, port 443, so the
      // examples' URLs work unchanged. Distinct per stack: two stacks never collide.
      const net = `127.${1 + (randomBytes(1)[0]! % 250)}.${randomBytes(1)[0]! % 250}`;
      await stack.addSite('example.com', `${net}.2`);
      await stack.addSite('github.com', `${net}.3`);
      await stack.startAll();
    } catch (err) {
      await stack.stop();
      throw err;
    }
    return stack;
  }

  /** Serves https://<name>/ from a stand-in at `address`:443 and points the DNS stub at it. */
  async addSite(name: string, address: string): Promise<HttpTarget> {
    const tls = await this.sitesCa.issue(name, { subject: `/CN=${name}`, dnsNames: [name], usage: 'server' });
    const target = await HttpTarget.start({ host: address, port: 443, tls, behaviour: UP });
    this.sites.set(name, target);
    this.dns.set(name, address);
    return target;
  }

  get apiUrl(): string {
    const api = this.services.get('api-0');
    if (!api) throw new Error('the stack runs no api');
    return `http://127.0.0.1:${api.port}`;
  }

  /** Environment a service kind gets in this stack (plus OPS_PORT and POD_NAME per instance). */
  async envFor(kind: ServiceName): Promise<Record<string, string>> {
    const base: Record<string, string> = { DATABASE_URL: this.db.url, LOG_LEVEL: 'debug', POD_NAMESPACE: STACK_NAMESPACE };
    const kubeconfig = async () => ({ KUBECONFIG: await this.kubeconfigFor(kind) });
    const loopbackTargets = { SSRF_ALLOW_CIDRS: '127.0.0.0/8,::1/128' };
    switch (kind) {
      case 'watcher':
        return { ...base, ...(await kubeconfig()), ...this.options.env?.watcher };
      case 'prober':
        return { ...base, ...loopbackTargets, DNS_SERVERS: this.dns.server, NODE_EXTRA_CA_CERTS: this.sitesCa.cert, ...this.options.env?.prober };
      case 'alerter':
        return { ...base, ...(await kubeconfig()), ...loopbackTargets, RECEIVERS_FILE: this.receiversFile, ...this.options.env?.alerter };
      case 'api':
        return { ...base, ...(await kubeconfig()), ...this.options.env?.api };
    }
  }

  async startInstance(kind: ServiceName, index: number): Promise<ServiceProcess> {
    const instance = `${kind}-${index}`;
    const opsPort = await freePort();
    const env: Record<string, string> = { ...(await this.envFor(kind)), POD_NAME: instance };
    let port: number | undefined;
    if (kind === 'api') {
      port = index === 0 && this.options.apiPort ? this.options.apiPort : await freePort();
      env.PORT = String(port);
    }
    const service = await startService(kind, env, { opsPort, logDir: this.logDir, instance, port });
    this.services.set(instance, service);
    return service;
  }

  /** Stops an instance (SIGTERM, or SIGKILL for a crash) and forgets it. */
  async kill(instance: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const service = this.services.get(instance);
    if (!service) throw new Error(`no service instance ${instance}`);
    await service.stop(signal);
    this.services.delete(instance);
  }

  async restart(instance: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<ServiceProcess> {
    await this.kill(instance, signal);
    const [kind, index] = instance.split('-') as [ServiceName, string];
    const service = await this.startInstance(kind, Number(index));
    await waitForReady(service, 60_000);
    return service;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop()));
    this.services.clear();
    await Promise.all([...this.sites.values()].map((t) => t.stop()));
    await this.receiver.stop();
    await this.dns.stop();
    await this.plane.stop();
    await this.postgres.destroy();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** The migrations, by the same command the chart's init containers run. */
  private async migrate(): Promise<void> {
    const migrator = startProcess('migrate', process.execPath, [join(WORKSPACE_ROOT, 'libs/db/dist/migrate-cli.js')], {
      logFile: join(this.logDir, 'migrate.log'),
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: this.db.url },
    });
    const code = await migrator.exited;
    if (code !== 0) throw new Error(`migrations failed (${code}):\n${await migrator.logTail()}`);
  }

  private async startAll(): Promise<void> {
    const counts: Record<ServiceName, number> = {
      watcher: this.options.watchers ?? 1,
      prober: this.options.probers ?? 2,
      alerter: this.options.alerters ?? 2,
      api: this.options.apis ?? 1,
    };
    const mustBeReady: ServiceProcess[] = [];
    for (const kind of ['watcher', 'prober', 'alerter', 'api'] as const) {
      for (let i = 0; i < counts[kind]; i++) {
        const service = await this.startInstance(kind, i);
        // Standby watchers wait for the lease; the first one started leads.
        if (kind !== 'watcher' || i === 0) mustBeReady.push(service);
      }
    }
    await Promise.all(mustBeReady.map((s) => waitForReady(s, 90_000)));
  }

  private async kubeconfigFor(kind: ServiceName): Promise<string> {
    const sa = this.serviceAccounts.get(kind);
    if (!sa) throw new Error(`the chart renders no ServiceAccount labelled app.kubernetes.io/component=${kind}`);
    let token = this.tokens.get(kind);
    if (!token) {
      token = await this.plane.tokenFor(STACK_NAMESPACE, sa, 24 * 3600);
      this.tokens.set(kind, token);
    }
    return this.plane.writeTokenKubeconfig(token, `sa-${kind}`);
  }

  private async writeReceivers(): Promise<void> {
    this.receiversFile = join(this.dir, 'receivers.json');
    await writeFile(
      this.receiversFile,
      // The stack's one receiver hears every namespace, which a receiver must say explicitly.
      JSON.stringify({ receivers: [{ name: 'recorder', url: this.receiver.url, secrets: [this.receiverSecret], namespaces: ['*'] }] }, null, 2),
      { mode: 0o600 },
    );
  }
}
