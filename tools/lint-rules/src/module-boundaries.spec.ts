import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

// The workspace's real eslint.config.js, run through ESLint's Node API on
// source text that is linted as if it lived at the given path: what `make
// lint` would say about such a file. ESLint runs in a child process because
// it loads its config and plugins with dynamic imports Jest's module
// sandbox does not serve.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Case {
  file: string;
  code: string;
}
type Findings = Array<{ ruleId: string | null; message: string }>;

const LINT = `
import { ESLint } from 'eslint';
const eslint = new ESLint({ cwd: process.cwd() });
const out = [];
for (const c of JSON.parse(process.argv[1])) {
  const [result] = await eslint.lintText(c.code, { filePath: c.file });
  out.push(result.messages.map((m) => ({ ruleId: m.ruleId, message: m.message })));
}
process.stdout.write(JSON.stringify(out));
`;

async function lint(cases: Case[]): Promise<Findings[]> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', LINT, JSON.stringify(cases)], {
    cwd: ROOT,
    env: { ...process.env, NX_DAEMON: 'false', NODE_OPTIONS: '' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Findings[];
}

const importing = "import { freePort } from '@vigil/testing';\n\nexport const port = freePort;\n";

describe('module boundaries by file', () => {
  let findings: Findings[];

  it('@vigil/testing is refused in production code and allowed in specs and src/testing; a service config only in the chart tests', async () => {
    const cases: Case[] = [
      { file: 'services/prober/src/probe/feature.ts', code: importing },
      { file: 'libs/db/src/pool-helper.ts', code: "export { freePort } from '@vigil/testing';\n" },
      { file: 'services/alerter/src/loader.ts', code: "import type { ManagedProcess } from '@vigil/testing';\n\nexport type P = ManagedProcess;\n" },
      { file: 'services/watcher/src/lazy.ts', code: "export async function helpers(): Promise<unknown> {\n  return import('@vigil/testing');\n}\n" },
      { file: 'services/prober/src/probe/feature.spec.ts', code: importing },
      { file: 'services/alerter/src/delivery.int-spec.ts', code: importing },
      { file: 'e2e/src/flow.e2e-spec.ts', code: importing },
      { file: 'services/api/src/testing/helper.ts', code: importing },
      { file: 'libs/k8s/src/crd.int-spec.ts', code: importing },
      // A service's env spec: the chart tests may read it, nothing else may.
      { file: 'charts/tests/src/env.int-spec.ts', code: "import { proberEnv } from '@vigil/prober/config';\n\nexport const names = Object.keys(proberEnv);\n" },
      { file: 'services/alerter/src/peek.ts', code: "import { proberEnv } from '@vigil/prober/config';\n\nexport const names = Object.keys(proberEnv);\n" },
      { file: 'e2e/src/flow.e2e-spec.ts', code: "import { proberEnv } from '@vigil/prober/config';\n\nexport const names = Object.keys(proberEnv);\n" },
    ];
    findings = await lint(cases);
    const rules = findings.map((f) => f.map((m) => m.ruleId));
    expect(rules).toEqual([
      ['no-restricted-imports'],
      ['no-restricted-imports'],
      ['no-restricted-imports'],
      ['no-restricted-syntax'],
      [],
      [],
      [],
      [],
      [],
      [],
      ['no-restricted-imports'],
      ['no-restricted-imports'],
    ]);
    expect(findings[0]![0]!.message).toMatch(/test helpers are for specs/);
  }, 120_000);
});
