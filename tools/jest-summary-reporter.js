// Writes each Jest run's totals to test-artifacts/jest/<project>.<target>.json.
// The file is an Nx output of the test targets, so a run replayed from the Nx
// cache restores it too, and `make test` can close with one honest line over
// every project and suite (tools/test-summary.js).
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../test-artifacts/jest/', import.meta.url));

export default class SummaryReporter {
  constructor(_globalConfig, options) {
    const project = process.env.NX_TASK_TARGET_PROJECT;
    const target = process.env.NX_TASK_TARGET_TARGET;
    this.file = project && target ? `${project}.${target.replace(/:/g, '-')}.json` : `${options.name.replace(/:/g, '.')}.json`;
  }

  onRunComplete(_contexts, results) {
    mkdirSync(dir, { recursive: true });
    const summary = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    writeFileSync(`${dir}${this.file}`, `${JSON.stringify(summary)}\n`);
  }
}
