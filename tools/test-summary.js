// The closing line of `make test`, over every Jest run since it started
// (including runs Nx replayed from its cache): "N passed, N failed".
import { readdirSync, readFileSync } from 'node:fs';

const dir = new URL('../test-artifacts/jest/', import.meta.url);
let runs = [];
try {
  runs = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')));
} catch {
  // No run recorded: zero, which CI reads as "ran no test".
}
const total = (key) => runs.reduce((sum, r) => sum + r[key], 0);
const skipped = total('skipped');
console.log(`Jest runs: ${runs.length}`);
console.log(`${total('passed')} passed, ${total('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
