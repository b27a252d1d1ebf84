import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const SERVICE_CONFIGS = ['@vigil/watcher/config', '@vigil/prober/config', '@vigil/alerter/config', '@vigil/api/config'];
const TESTING_ONLY = 'test helpers are for specs (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts) and src/testing/** only';
const CHART_TESTS_ONLY = "a service's env spec is read only by the chart tests (charts/tests); services talk through Postgres";
const serviceConfigs = SERVICE_CONFIGS.map((name) => ({ name, message: CHART_TESTS_ONLY }));

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.nx/**', 'coverage/**', 'test-artifacts/**', 'terraform/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', 'e2e/src/**/*.ts', 'charts/tests/src/**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      // Services talk through Postgres, never through each other's code.
      // Projects may depend on the test lib (their specs use it); which files
      // may import it is decided by the file-glob blocks below, as Nx sees
      // projects, not files.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          // A service's env spec (its `./config` export) is the one thing of a
          // service another project may import: the chart tests compare it
          // with what the chart renders. Only they may (the blocks below).
          allow: SERVICE_CONFIGS,
          depConstraints: [
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:e2e', onlyDependOnLibsWithTags: ['type:lib', 'type:testing'] },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', 'e2e/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: serviceConfigs }] },
  },
  {
    // Test helpers never ship: only specs and src/testing/** may import
    // @vigil/testing; production code in a service or a lib may not. (This
    // block replaces the one above for these files, so it repeats its paths.)
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['libs/testing/**', '**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@vigil/testing', message: TESTING_ONLY }, ...serviceConfigs],
          patterns: [{ group: ['@vigil/testing/*'], message: TESTING_ONLY }],
        },
      ],
      'no-restricted-syntax': ['error', { selector: "ImportExpression[source.value=/^@vigil\\/testing(\\/|$)/]", message: TESTING_ONLY }],
    },
  },
);
