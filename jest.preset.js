// Shared Jest settings for every project: native ESM (run with
// NODE_OPTIONS=--experimental-vm-modules), TypeScript compiled by SWC with the
// same options as the build. Type errors are caught by `npm run typecheck`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const workspaceRoot = fileURLToPath(new URL('.', import.meta.url));
const { exclude: _buildOnly, ...swc } = JSON.parse(readFileSync(new URL('./.swcrc', import.meta.url), 'utf8'));

const suites = {
  unit: { testMatch: ['<rootDir>/src/**/*.spec.ts'], testTimeout: 10_000 },
  integration: { testMatch: ['<rootDir>/src/**/*.int-spec.ts'], testTimeout: 180_000 },
  e2e: { testMatch: ['<rootDir>/src/**/*.e2e-spec.ts'], testTimeout: 300_000 },
};

/** @param {{ displayName: string, suite?: keyof typeof suites }} options */
export function jestConfig({ displayName, suite = 'unit' }) {
  return {
    displayName: `${displayName}:${suite}`,
    reporters: ['default', [`${workspaceRoot}tools/jest-summary-reporter.js`, { name: `${displayName}:${suite}` }]],
    testEnvironment: 'node',
    extensionsToTreatAsEsm: ['.ts'],
    transform: { '^.+\\.ts$': ['@swc/jest', { ...swc, swcrc: false }] },
    moduleNameMapper: {
      // Workspace libs are tested from source, without a build.
      '^@vigil/([a-z0-9-]+)$': `${workspaceRoot}libs/$1/src/index.ts`,
      '^(\\.{1,2}/.*)\\.js$': '$1',
    },
    ...suites[suite],
  };
}
