import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw new Error('openssl is not installed: apt-get install openssl');
    throw new Error(`openssl ${args[0]} failed: ${e.stderr ?? e.message}`);
  }
}

export interface ControlPlaneCertificates {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  /** Signs service-account tokens (kube-apiserver) and is verified by it. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface CertificateRequest {
  subject: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client';
}

/** A throwaway certificate authority (openssl), for API servers, clients and TLS stand-ins of real sites. */
export class TestCertificateAuthority {
  private constructor(
    readonly dir: string,
    readonly cert: string,
    readonly key: string,
  ) {}

  static async create(dir: string, name = 'vigil-test-ca'): Promise<TestCertificateAuthority> {
    const ca = new TestCertificateAuthority(dir, join(dir, `${name}.crt`), join(dir, `${name}.key`));
    await openssl(['req', '-x509', ...EC_KEY, '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', `/CN=${name}`]);
    return ca;
  }

  async issue(name: string, request: CertificateRequest): Promise<IssuedCertificate> {
    const p = (suffix: string) => join(this.dir, `${name}.${suffix}`);
    const altNames = [...(request.dnsNames ?? []).map((d) => `DNS:${d}`), ...(request.ipAddresses ?? []).map((ip) => `IP:${ip}`)];
    const extensions = [`extendedKeyUsage=${request.usage === 'server' ? 'serverAuth' : 'clientAuth'}`];
    if (altNames.length > 0) extensions.push(`subjectAltName=${altNames.join(',')}`);
    await writeFile(p('ext'), `${extensions.join('\n')}\n`);
    await openssl(['req', ...EC_KEY, '-keyout', p('key'), '-out', p('csr'), '-subj', request.subject]);
    // A random serial, not -CAcreateserial: that shares one serial file, and two
    // certificates issued at once can read it half-written ("Unable to load number").
    const serial = `0x${randomBytes(16).toString('hex')}`;
    await openssl(['x509', '-req', '-in', p('csr'), '-CA', this.cert, '-CAkey', this.key, '-set_serial', serial, '-days', '2', '-out', p('crt'), '-extfile', p('ext')]);
    return { cert: p('crt'), key: p('key') };
  }
}

/** A throwaway CA, a serving certificate for 127.0.0.1, an admin client certificate (system:masters) and a service-account key pair. */
export async function createCertificates(dir: string): Promise<ControlPlaneCertificates> {
  const ca = await TestCertificateAuthority.create(dir, 'ca');
  const serviceAccountKey = join(dir, 'sa.key');
  const serviceAccountPub = join(dir, 'sa.pub');
  const [serving, admin] = await Promise.all([
    ca.issue('apiserver', { subject: '/CN=kube-apiserver', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost', 'kubernetes.default.svc'], usage: 'server' }),
    ca.issue('admin', { subject: '/O=system:masters/CN=vigil-admin', usage: 'client' }),
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', serviceAccountKey]).then(() =>
      openssl(['pkey', '-in', serviceAccountKey, '-pubout', '-out', serviceAccountPub]),
    ),
  ]);
  return {
    caCert: ca.cert,
    caKey: ca.key,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPub,
  };
}
