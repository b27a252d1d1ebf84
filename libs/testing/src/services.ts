import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from './control-plane.js';
import { startProcess, waitFor, type ManagedProcess } from './processes.js';

export type ServiceName = 'watcher' | 'prober' | 'alerter' | 'api';

export interface ServiceProcess extends ManagedProcess {
  /** Base URL of its /metrics, /healthz and /readyz. */
  readonly opsUrl: string;
  /** Its own HTTP port besides the ops port (the api's PORT), when it has one. */
  readonly port?: number;
  /** Parsed JSON log lines written so far (stdout and stderr). */
  logs(): Promise<Array<Record<string, unknown>>>;
}

/**
 * Runs a service as it ships: `node services/<name>/dist/main.js` on this
 * process's Node (24), with only the given environment (plus PATH). Build it
 * first (`nx run <name>:build`; the test:integration target does).
 */
export async function startService(
  name: ServiceName,
  env: Record<string, string>,
  options: { opsPort: number; logDir?: string; instance?: string; port?: number },
): Promise<ServiceProcess> {
  const logDir = options.logDir ?? (await mkdtemp(join(tmpdir(), `vigil-${name}-`)));
  const logFile = join(logDir, `${options.instance ?? name}.log`);
  const proc = startProcess(name, process.execPath, [join(WORKSPACE_ROOT, 'services', name, 'dist', 'main.js')], {
    logFile,
    env: { PATH: process.env.PATH ?? '', OPS_PORT: String(options.opsPort), ...env },
  });
  const logs = async () =>
    (await proc.logTail(100_000))
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return { unparsed: l };
        }
      });
  return Object.assign(proc, { opsUrl: `http://127.0.0.1:${options.opsPort}`, logs, ...(options.port ? { port: options.port } : {}) });
}

/** Waits until the service answers /readyz with 200; on timeout the error carries its last log lines. */
export async function waitForReady(service: ServiceProcess, timeoutMs = 30_000): Promise<void> {
  try {
    await waitFor(`${service.name} to be ready`, async () => (await fetch(`${service.opsUrl}/readyz`)).status === 200, { timeoutMs, intervalMs: 100 });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n--- last lines of ${service.logFile} ---\n${await service.logTail()}`);
  }
}
