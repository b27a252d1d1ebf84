import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

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
      // may import it is the next block's job, as Nx sees projects, not files.
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
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
    // Test helpers never ship: only specs and src/testing/** may import
    // @vigil/testing; production code in a service or a lib may not.
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['libs/testing/**', '**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: '@vigil/testing', message: 'test helpers are for specs (*.spec.ts, *.int-spec.ts, *.e2e-spec.ts) and src/testing/** only' }],
          patterns: [{ group: ['@vigil/testing/*'], message: 'test helpers are for specs and src/testing/** only' }],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "ImportExpression[source.value=/^@vigil\\/testing(\\/|$)/]", message: 'test helpers are for specs and src/testing/** only' },
      ],
    },
  },
);
