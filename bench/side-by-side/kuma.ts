// Uptime Kuma as the side-by-side benchmark runs it: installed from the npm
// registry into a cache outside the repository (nothing of Kuma's code is
// committed), started headless with SQLite, set up and fed its monitors over
// its own socket.io API, the way its web UI does.
import { execFile } from 'node:child_process';
import { access, copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { startProcess, waitFor, type ManagedProcess } from '@vigil/testing';

/** The only Uptime Kuma the npm registry serves (its releases ship as Docker images and GitHub tarballs). */
export const KUMA_VERSION = '2.0.0-dev.0';
/** Kuma's own floor for a monitor's interval (src/util.js MIN_INTERVAL_SECOND). */
export const KUMA_MIN_INTERVAL_S = 20;

export const kumaCacheDir = (): string => process.env.VIGIL_BENCH_KUMA_DIR ?? join(homedir(), '.cache', 'vigil', 'bench', 'uptime-kuma');
export const kumaPackageDir = (cacheDir: string): string => join(cacheDir, 'node_modules', 'uptime-kuma');

const exists = (path: string) => access(path).then(() => true, () => false);

/**
 * Installs uptime-kuma@KUMA_VERSION into `cacheDir` with the machine's npm when
 * it is not there yet. Its SQLite driver (@louislam/sqlite3) fetches prebuilt
 * binaries from GitHub, which is unreachable here, and falls back to building
 * from source; node-gyp then needs Node headers without downloading them, so
 * npm_config_nodedir points at a local Node install (the driver is N-API, so a
 * binding built against Node 20's headers loads in Node 24).
 */
export async function ensureKuma(cacheDir: string, log: (msg: string) => void): Promise<string> {
  const packageDir = kumaPackageDir(cacheDir);
  const sqliteBinding = join(cacheDir, 'node_modules', '@louislam', 'sqlite3', 'lib', 'binding', 'napi-v6-linux-x64', 'node_sqlite3.node');
  if (!(await exists(join(packageDir, 'server', 'server.js'))) || !(await exists(sqliteBinding))) {
    log(`installing uptime-kuma@${KUMA_VERSION} from the npm registry into ${cacheDir} (about a minute; SQLite is compiled from source)`);
    await mkdir(cacheDir, { recursive: true });
    if (!(await exists(join(cacheDir, 'package.json')))) await writeFile(join(cacheDir, 'package.json'), '{"name":"vigil-bench-uptime-kuma","private":true}\n');
    const nodedir = process.env.npm_config_nodedir ?? '/usr';
    await promisify(execFile)('npm', ['install', `uptime-kuma@${KUMA_VERSION}`, '--no-audit', '--no-fund'], {
      cwd: cacheDir,
      env: { ...process.env, npm_config_nodedir: nodedir },
      maxBuffer: 64 * 2 ** 20,
    });
    if (!(await exists(sqliteBinding))) throw new Error(`npm installed uptime-kuma but the SQLite binding was not built (${sqliteBinding}); is ${nodedir}/include/node there?`);
  }
  await repairMigrationLayout(packageDir);
  return packageDir;
}

/**
 * The 2.0.0-dev.0 tarball lists seven SQL patches in Database.patchList but
 * ships them in db/ instead of db/old_migrations/, so a fresh SQLite database
 * fails to start ("ENOENT ... db/old_migrations/patch-add-invert-keyword.sql").
 * Copying them where the code reads them is the whole repair; no code changes.
 */
async function repairMigrationLayout(packageDir: string): Promise<void> {
  const db = join(packageDir, 'db');
  for (const file of await readdir(db)) {
    if (!/^patch-.*\.sql$/.test(file)) continue;
    const target = join(db, 'old_migrations', file);
    if (!(await exists(target))) await copyFile(join(db, file), target);
  }
}

export interface KumaMonitor {
  name: string;
  url: string;
  intervalSeconds: number;
  timeoutSeconds: number;
}

/** The few socket.io-client calls used here (the client is Kuma's own dependency, loaded from its install). */
interface Socket {
  emit(event: string, ...args: unknown[]): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
  close(): void;
}
type Connect = (url: string, options: { transports: string[]; reconnection: boolean }) => Socket;

export interface KumaServer {
  process: ManagedProcess;
  url: string;
  stop(): Promise<void>;
}

/** Starts Kuma on loopback with a fresh SQLite data dir and waits for its HTTP server. */
export async function startKuma(packageDir: string, dataDir: string, port: number, logFile: string): Promise<KumaServer> {
  await mkdir(dataDir, { recursive: true });
  // Skips the "choose a database" page the first start would otherwise wait on.
  await writeFile(join(dataDir, 'db-config.json'), '{"type":"sqlite"}\n');
  const child = startProcess('uptime-kuma', process.execPath, ['server/server.js', `--data-dir=${dataDir}/`, `--port=${port}`, '--host=127.0.0.1'], {
    cwd: packageDir,
    logFile,
    env: { ...process.env, NODE_ENV: 'production', NODE_OPTIONS: '' },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('uptime-kuma listening', async () => child.child.exitCode !== null || (await fetch(`${url}/api/entry-page`).catch(() => undefined))?.ok === true, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  if (child.child.exitCode !== null) throw new Error(`uptime-kuma exited with ${child.child.exitCode}: ${await child.logTail(20)}`);
  return {
    process: child,
    url,
    // Kuma's shutdown stops every monitor, then waits 2 s before closing SQLite.
    stop: async () => void (await child.stop('SIGTERM', 15_000)),
  };
}

const call = <T>(socket: Socket, event: string, ...args: unknown[]): Promise<T> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`uptime-kuma: no answer to "${event}" in 60 s`)), 60_000);
    socket.emit(event, ...args, (answer: T) => {
      clearTimeout(timer);
      resolve(answer);
    });
  });

interface Answer {
  ok: boolean;
  msg?: string;
}

/**
 * Creates the admin user and adds the monitors over socket.io with Kuma's own
 * backup import ("uploadBackup", Settings → Backup → Import in its UI), which
 * stores and starts every monitor in one call. Adding them one by one with
 * "add" re-sends the whole monitor list after each add (O(n²)): 100, 200 and
 * 300 monitors took 7, 25 and 68 s here, so 1,000 would take about 10 minutes.
 */
export async function addKumaMonitors(packageDir: string, server: KumaServer, monitors: readonly KumaMonitor[]): Promise<void> {
  const connect = (createRequire(join(packageDir, 'package.json'))('socket.io-client') as { io: Connect }).io;
  const socket = connect(server.url, { transports: ['websocket'], reconnection: false });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('connect_error', (err) => reject(err as Error));
    });
    const username = 'bench';
    const password = 'bench-password-1';
    const setup = await call<Answer>(socket, 'setup', username, password);
    if (!setup.ok) throw new Error(`uptime-kuma setup: ${setup.msg}`);
    const login = await call<Answer>(socket, 'login', { username, password, token: '' });
    if (!login.ok) throw new Error(`uptime-kuma login: ${login.msg}`);
    const backup = {
      version: KUMA_VERSION,
      notificationList: [],
      proxyList: [],
      monitorList: monitors.map((m) => ({
        // What the web UI sends for a new HTTP monitor (src/pages/EditMonitor.vue defaults), with our name/url/interval/timeout.
        type: 'http',
        name: m.name,
        url: m.url,
        method: 'GET',
        interval: m.intervalSeconds,
        retryInterval: m.intervalSeconds,
        resendInterval: 0,
        maxretries: 0,
        timeout: m.timeoutSeconds,
        ignoreTls: false,
        upsideDown: false,
        invertKeyword: false,
        maxredirects: 10,
        accepted_statuscodes: ['200-299'],
        dns_resolve_type: 'A',
        dns_resolve_server: '1.1.1.1',
        notificationIDList: {},
        tags: [],
        active: 1,
      })),
    };
    const imported = await call<Answer>(socket, 'uploadBackup', JSON.stringify(backup), 'keep');
    if (!imported.ok) throw new Error(`uptime-kuma import: ${imported.msg}`);
  } finally {
    socket.close();
    await sleep(100);
  }
}
