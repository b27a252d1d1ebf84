import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root: the suite drives the same make targets a user runs. */
export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const NAMESPACE = 'vigil';
export const RELEASE = 'vigil';
export const HOST_PORT = process.env['HOST_PORT'] ?? '8080';
export const BASE_URL = `http://localhost:${HOST_PORT}`;

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command in the repository root; never throws for a non-zero exit. */
export function run(command: string, args: string[], options: { stdin?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { cwd: ROOT, env: { ...process.env, ...options.env }, maxBuffer: 64 * 1024 * 1024, timeout: options.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}

/** `make TARGET` on the local node, with this suite's host port. */
export function make(target: string, env: NodeJS.ProcessEnv = {}, timeoutMs = 600_000): Promise<RunResult> {
  return run('make', ['--no-print-directory', target], { env: { CLUSTER_KIND: 'node', HOST_PORT, ...env }, timeoutMs });
}

let binDir: string | undefined;
async function controlPlaneBin(): Promise<string> {
  if (binDir) return binDir;
  const r = await run(`${ROOT}tools/build-control-plane.sh`, ['--check']);
  if (r.code !== 0) throw new Error(`the control plane is not built (make control-plane): ${r.stderr}`);
  return (binDir = r.stdout.trim());
}

async function kubeconfig(): Promise<string> {
  const r = await run(`${ROOT}tools/local-node.sh`, ['env']);
  const match = /KUBECONFIG=(\S+)/.exec(r.stdout);
  if (!match) throw new Error(`no local node kubeconfig: run 'make cluster-up' (${r.stderr})`);
  return match[1]!;
}

export async function kubectl(args: string[], options: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return run(`${await controlPlaneBin()}/kubectl`, ['--kubeconfig', await kubeconfig(), ...args], options);
}

export async function helm(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<RunResult> {
  return run(`${await controlPlaneBin()}/helm`, args, { ...options, env: { KUBECONFIG: await kubeconfig(), ...options.env } });
}

/** kubectl that must succeed: its stdout. */
export async function k(args: string[], stdin?: string): Promise<string> {
  const r = await kubectl(args, stdin === undefined ? {} : { stdin });
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** Runs an ES module script with the image's Node inside a pod (every Vigil-image pod has it). */
export async function nodeInPod(namespace: string, target: string, script: string, timeoutMs = 30_000): Promise<string> {
  const r = await kubectl(['exec', '-n', namespace, target, '--', 'node', '--input-type=module', '-e', script], { timeoutMs });
  if (r.code !== 0) throw new Error(`node in ${namespace}/${target}: ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/**
 * A TCP connection from inside a pod: 'open', or why not (a NetworkPolicy
 * drop shows as a timeout, a reject as ECONNREFUSED/EHOSTUNREACH).
 */
export function connectFrom(namespace: string, target: string, host: string, port: number): Promise<string> {
  return nodeInPod(
    namespace,
    target,
    `import { connect } from 'node:net';
     const s = connect({ host: ${JSON.stringify(host)}, port: ${port}, timeout: 3000 });
     s.on('connect', () => { console.log('open'); s.destroy(); });
     s.on('timeout', () => { console.log('timeout'); s.destroy(); });
     s.on('error', (e) => console.log(e.code ?? String(e)));`,
  );
}

/** SQL against the release's database, from the api pod (the only way in: Postgres admits only Vigil's pods). */
export async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  const out = await nodeInPod(
    NAMESPACE,
    `deploy/${RELEASE}-api`,
    `import pg from 'pg';
     const client = new pg.Client({ connectionString: process.env.DATABASE_URL });
     await client.connect();
     const { rows } = await client.query(${JSON.stringify(query)}, ${JSON.stringify(params)});
     console.log(JSON.stringify(rows));
     await client.end();`,
  );
  return JSON.parse(out) as T[];
}
