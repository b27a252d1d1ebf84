// Copies each benchmark's last published section (bench/results/NAME.md) into
// docs/BENCHMARKS.md between its markers:
//
//   <!-- bench:NAME -->
//   ...replaced...
//   <!-- /bench:NAME -->
//
//   node bench/publish.ts          # update the page
//   node bench/publish.ts --check  # exit 1 if the page is behind the results
//
// The prose around the markers (goals, analysis) is written by hand; the
// tables inside them only ever come from a run.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@vigil/testing';
import { RESULTS_DIR } from './lib/report.ts';

const page = join(WORKSPACE_ROOT, 'docs', 'BENCHMARKS.md');

async function main(): Promise<void> {
  let text = await readFile(page, 'utf8');
  const before = text;
  const names = (await readdir(RESULTS_DIR)).filter((f) => f.endsWith('.md')).map((f) => f.slice(0, -3)).sort();
  const missing: string[] = [];
  for (const name of names) {
    const section = (await readFile(join(RESULTS_DIR, `${name}.md`), 'utf8')).trim();
    const open = `<!-- bench:${name} -->`;
    const close = `<!-- /bench:${name} -->`;
    const start = text.indexOf(open);
    const end = text.indexOf(close);
    if (start < 0 || end < start) {
      missing.push(name);
      continue;
    }
    text = `${text.slice(0, start + open.length)}\n${section}\n${text.slice(end)}`;
  }
  if (missing.length > 0) throw new Error(`docs/BENCHMARKS.md has no markers for: ${missing.join(', ')} (add "<!-- bench:NAME -->" and "<!-- /bench:NAME -->")`);
  if (process.argv.includes('--check')) {
    if (text !== before) {
      process.stderr.write('docs/BENCHMARKS.md is behind bench/results: run `node bench/publish.ts`\n');
      process.exitCode = 1;
    }
    return;
  }
  await writeFile(page, text);
  process.stdout.write(`docs/BENCHMARKS.md: ${names.length} sections from bench/results (${names.join(', ')})\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
});
