// `make dev`: the local stack on this machine, without Docker — a real
// control plane (etcd, kube-apiserver, kube-controller-manager), a real
// Postgres with the schema migrated, the UptimeCheck CRD and the examples.
// Prints the exact `export KUBECONFIG=...` line; Ctrl-C stops everything.
// Run with Node 24, which strips the types of this file itself.
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, loadYaml } from '@kubernetes/client-node';
import { createPool, migrate } from '@vigil/db';
import { UPTIME_CHECK, loadUptimeCheckCrd } from '@vigil/k8s';
import { ControlPlane, PostgresServer, WORKSPACE_ROOT, waitFor } from '@vigil/testing';

const DEV_DIR = join(WORKSPACE_ROOT, '.dev');
const log = (msg: string) => process.stdout.write(`[dev] ${msg}\n`);

async function main(): Promise<void> {
  await mkdir(DEV_DIR, { recursive: true });
  log('starting Postgres');
  const postgres = await PostgresServer.start();
  log('starting etcd, kube-apiserver and kube-controller-manager');
  const plane = await ControlPlane.start({ controllerManager: true });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await plane.stop();
    await postgres.destroy();
    log('stopped');
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    const db = await postgres.createDatabase('vigil');
    const pool = createPool({ connectionString: db.url, applicationName: 'vigil-dev', max: 1 });
    await migrate(pool);
    await pool.end();

    const kc = plane.kubeConfig();
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: await loadUptimeCheckCrd() });
    await waitFor('UptimeCheck discovery', async () => (await plane.kubectl(['get', 'uptimechecks', '-A'])).code === 0);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'vigil' } } });

    const objects = kc.makeApiClient(CustomObjectsApi);
    const examplesDir = join(WORKSPACE_ROOT, 'examples');
    for (const file of (await readdir(examplesDir)).filter((f) => f.endsWith('.yaml')).sort()) {
      const body = loadYaml<{ metadata: { name: string } }>(await readFile(join(examplesDir, file), 'utf8'));
      await objects.createNamespacedCustomObject({ group: UPTIME_CHECK.group, version: UPTIME_CHECK.version, plural: UPTIME_CHECK.plural, namespace: 'default', body });
      log(`applied examples/${file}`);
    }

    const kubeconfig = join(DEV_DIR, 'kubeconfig');
    await copyFile(plane.kubeconfigPath, kubeconfig);
    const env = join(DEV_DIR, 'env');
    await writeFile(env, `export KUBECONFIG=${kubeconfig}\nexport DATABASE_URL=${db.url}\n`);
    log('ready. In another shell:');
    process.stdout.write(`\nexport KUBECONFIG=${kubeconfig}\n`);
    process.stdout.write(`export DATABASE_URL=${db.url}\n`);
    process.stdout.write(`export PATH=${plane.binDir}:$PATH   # kubectl and helm built for this control plane\n\n`);
    process.stdout.write(`kubectl get uptimechecks\n\n(or: source ${env}) — Ctrl-C stops everything.\n`);
  } catch (err) {
    process.stderr.write(`[dev] failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
    await stop();
  }
}

void main();
