// Appends each Jest run's totals to test-artifacts/jest-summary.jsonl, so
// `make test` can close with one line over every project and suite.
import { appendFileSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

export default class SummaryReporter {
  constructor(globalConfig, options) {
    this.name = options?.name ?? 'jest';
  }

  onRunComplete(_contexts, results) {
    mkdirSync(dir, { recursive: true });
    const line = {
      name: this.name,
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    appendFileSync(`${dir}jest-summary.jsonl`, `${JSON.stringify(line)}\n`);
  }
}
