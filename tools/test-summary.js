// Prints the totals of every Jest run since `make test` started, as the
// closing line CI reads: "N passed, N failed".
import { readFileSync } from 'node:fs';

const file = new URL('../test-artifacts/jest-summary.jsonl', import.meta.url);
let lines = [];
try {
  lines = readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
} catch {
  // No run recorded: report zero, which CI treats as "ran no test".
}
const total = (key) => lines.reduce((sum, l) => sum + l[key], 0);
const skipped = total('skipped');
console.log(`Jest runs in this invocation: ${lines.length} (suites replayed from the Nx cache are not counted)`);
console.log(`${total('passed')} passed, ${total('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
