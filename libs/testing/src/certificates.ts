import { execFile } from 'node:child_process';
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

/** A throwaway CA, a serving certificate for 127.0.0.1, an admin client certificate (system:masters) and a service-account key pair. */
export async function createCertificates(dir: string): Promise<ControlPlaneCertificates> {
  const p = (name: string) => join(dir, name);
  const c: ControlPlaneCertificates = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    servingCert: p('apiserver.crt'),
    servingKey: p('apiserver.key'),
    adminCert: p('admin.crt'),
    adminKey: p('admin.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
  };
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', c.caKey, '-out', c.caCert, '-days', '2', '-subj', '/CN=vigil-test-ca']);

  const sign = async (name: string, subject: string, extensions: string) => {
    const csr = p(`${name}.csr`);
    const ext = p(`${name}.ext`);
    await writeFile(ext, extensions);
    await openssl(['req', ...EC_KEY, '-keyout', p(`${name}.key`), '-out', csr, '-subj', subject]);
    await openssl(['x509', '-req', '-in', csr, '-CA', c.caCert, '-CAkey', c.caKey, '-CAcreateserial', '-days', '2', '-out', p(`${name}.crt`), '-extfile', ext]);
  };
  await Promise.all([
    sign('apiserver', '/CN=kube-apiserver', 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n'),
    sign('admin', '/O=system:masters/CN=vigil-admin', 'extendedKeyUsage=clientAuth\n'),
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', c.serviceAccountKey]).then(() =>
      openssl(['pkey', '-in', c.serviceAccountKey, '-pubout', '-out', c.serviceAccountPub]),
    ),
  ]);
  return c;
}
