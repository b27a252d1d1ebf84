import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PostgresServer } from '@vigil/testing';
import { createPool } from './pool.js';
import { migrate } from './migrate.js';

// Proof that the consumers' suites depend on the prober's outbox write.
//
// The alerter's and the api's tests seed transitions and outbox rows through
// the SQL functions the prober calls (migration 0006), never with INSERTs of
// their own. So a change to the shape of the outbox write must fail their
// suites. This test makes such a change and runs two of their real spec
// files against it:
//   - services/alerter/src/delivery/outbox.int-spec.ts (the body the alerter claims and sends),
//   - services/api/src/deliveries/deliveries.repository.int-spec.ts (the body the api shows).
// The change: vigil.webhook_payload, as migration 0006 defines it (read from
// a migrated database), with one key renamed (latencyMs → latency_ms), a
// plausible slip. It reaches the spawned suites through their own migrate():
// a Jest config generated here maps @vigil/db to a module that re-exports
// libs/db and, after migrating, runs the CREATE OR REPLACE from an
// environment variable. Nothing in the suites or in libs/db knows about it.
//
// Both files run twice in one Jest process each: first unchanged (they must
// pass, so the later failure is the change's doing and not the machine's),
// then against the change (each must fail, and on the renamed key). Cost:
// two Jest runs of two small files, about 30 s.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const JEST = join(ROOT, 'node_modules/jest/bin/jest.js');
const SPECS = [
  { project: 'alerter', file: 'services/alerter/src/delivery/outbox.int-spec.ts' },
  { project: 'api', file: 'services/api/src/deliveries/deliveries.repository.int-spec.ts' },
];

interface FileResult {
  file: string;
  passed: number;
  failed: number;
  failures: string;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigil-outbox-drift-'));
  await writeFile(
    join(dir, 'db-with-mutation.ts'),
    [
      `import { migrate as migrateSchema } from '${ROOT}libs/db/src/index.ts';`,
      `export * from '${ROOT}libs/db/src/index.ts';`,
      `export async function migrate(...args: Parameters<typeof migrateSchema>): ReturnType<typeof migrateSchema> {`,
      `  const applied = await migrateSchema(...args);`,
      `  if (process.env.VIGIL_OUTBOX_MUTATION) await args[0].query(process.env.VIGIL_OUTBOX_MUTATION);`,
      `  return applied;`,
      `}`,
      '',
    ].join('\n'),
  );
  const projects = SPECS.map(
    ({ project }) =>
      `{ ...(await import('${ROOT}services/${project}/jest.int.config.js')).default, rootDir: '${ROOT}services/${project}', ` +
      `moduleNameMapper: { '^@vigil/db$': '${join(dir, 'db-with-mutation.ts')}', ...(await import('${ROOT}services/${project}/jest.int.config.js')).default.moduleNameMapper } }`,
  );
  await writeFile(join(dir, 'jest.config.mjs'), `export default { reporters: ['default'], testTimeout: 120000, projects: [${projects.join(', ')}] };\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The migration's vigil.webhook_payload with `latencyMs` renamed, as a CREATE OR REPLACE statement. */
async function renamedKeyPayload(): Promise<string> {
  const server = await PostgresServer.start();
  try {
    const db = await server.createDatabase();
    const pool = createPool({ connectionString: db.url, applicationName: 'outbox-drift', max: 1 });
    try {
      await migrate(pool);
      const { rows } = await pool.query<{ def: string }>(`SELECT pg_get_functiondef('vigil.webhook_payload(vigil.transitions, text)'::regprocedure) AS def`);
      const original = rows[0]!.def;
      const mutated = original.replace(`'latencyMs'`, `'latency_ms'`);
      expect(mutated).not.toBe(original);
      return mutated;
    } finally {
      await pool.end();
    }
  } finally {
    await server.destroy();
  }
}

async function runSpecs(mutation: string | undefined): Promise<FileResult[]> {
  const output = join(dir, `result-${mutation ? 'mutated' : 'original'}.json`);
  const env = { ...process.env, NODE_OPTIONS: '--experimental-vm-modules', VIGIL_OUTBOX_MUTATION: mutation ?? '' };
  // Jest exits 1 when a test fails; the JSON report is what is judged.
  await promisify(execFile)(process.execPath, [JEST, '-c', join(dir, 'jest.config.mjs'), '--runInBand', '--json', `--outputFile=${output}`, ...SPECS.map((s) => s.file)], {
    cwd: ROOT,
    env,
    maxBuffer: 64 * 1024 * 1024,
  }).catch((err: { code?: number; stderr?: string }) => {
    if (err.code !== 1) throw new Error(`jest did not run: ${err.stderr ?? String(err)}`);
  });
  const report = JSON.parse(await readFile(output, 'utf8')) as {
    testResults: Array<{ name: string; message: string; assertionResults: Array<{ status: string; failureMessages: string[] }> }>;
  };
  return SPECS.map(({ file }) => {
    const result = report.testResults.find((r) => r.name.endsWith(file));
    if (!result) throw new Error(`${file} did not run`);
    return {
      file,
      passed: result.assertionResults.filter((a) => a.status === 'passed').length,
      failed: result.assertionResults.filter((a) => a.status === 'failed').length,
      failures: result.message + result.assertionResults.flatMap((a) => a.failureMessages).join('\n'),
    };
  });
}

describe('a change to the shape of the outbox write', () => {
  it("fails the alerter's and the api's suites, which seed through the same function", async () => {
    const mutation = await renamedKeyPayload();

    const original = await runSpecs(undefined);
    for (const r of original) expect({ file: r.file, failed: r.failed, passed: r.passed > 0, failures: r.failed ? r.failures : '' }).toEqual({ file: r.file, failed: 0, passed: true, failures: '' });

    const mutated = await runSpecs(mutation);
    for (const r of mutated) {
      expect({ file: r.file, failed: r.failed > 0 }).toEqual({ file: r.file, failed: true });
      // Failed on the body: the expected key missing, the renamed one present.
      expect(r.failures).toContain('latencyMs');
      expect(r.failures).toContain('latency_ms');
    }
  });
});
