// Test and bench support: a database with the schema, and the built alerter as a process.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, migrate, type Pool } from '@vigil/db';
import { freePort, startService, waitForReady, type PostgresServer, type ServiceProcess, type TestDatabase } from '@vigil/testing';

export async function migratedDatabase(server: PostgresServer): Promise<{ db: TestDatabase; pool: Pool }> {
  const db = await server.createDatabase();
  const pool = createPool({ connectionString: db.url, applicationName: 'alerter-test', max: 8 });
  await migrate(pool);
  return { db, pool };
}

/** A kubeconfig pointing at a port where nothing listens: for suites about webhooks only. */
export async function unreachableKubeconfig(dir: string): Promise<string> {
  const path = join(dir, 'unreachable.kubeconfig');
  const port = await freePort();
  await writeFile(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: none, cluster: {server: "https://127.0.0.1:' + port + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: none, user: {token: nothing}}]',
      'contexts: [{name: none, context: {cluster: none, user: none}}]',
      'current-context: none',
      '',
    ].join('\n'),
  );
  return path;
}

/** Starts `services/alerter/dist/main.js` and waits until it is ready. */
export async function startAlerter(env: Record<string, string>, options: { instance?: string; logDir?: string; waitReady?: boolean } = {}): Promise<ServiceProcess> {
  const logDir = options.logDir ?? (await mkdtemp(join(tmpdir(), 'vigil-alerter-')));
  const instance = options.instance ?? 'alerter-0';
  const alerter = await startService('alerter', { POD_NAME: instance, LOG_LEVEL: 'debug', ...env }, { opsPort: await freePort(), logDir, instance });
  if (options.waitReady ?? true) await waitForReady(alerter);
  return alerter;
}
