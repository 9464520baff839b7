// `npm run lint` (part of `npm test`): the recommended rules, sorted imports and no unused
// code. Kept small on purpose so that a finding is worth acting on; type errors are tsc's job.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import { defineConfig } from 'eslint/config';
import simpleImportSort from 'eslint-plugin-simple-import-sort';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // Generated or built files, and data the processes write.
    ignores: ['**/__generated__/**', 'dist/**', 'node_modules/**', '.data/**', '.keys/**', 'coverage/**', 'bench/results/**'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    plugins: { 'simple-import-sort': simpleImportSort, '@stylistic': stylistic },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      'simple-import-sort/imports': 'error',
      'simple-import-sort/exports': 'error',
      // The import sorter leaves `a,b` where it swaps names; this puts the space back.
      '@stylistic/comma-spacing': 'error',
      // `_name` marks a parameter or binding kept on purpose (a callback's signature, a rest sibling).
      // Errors are rephrased on purpose where they are rethrown: the new message says what failed
      // without the original's details (a URL with its password, a driver's stack).
      'preserve-caught-error': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests read GraphQL responses as untyped JSON.
    files: ['test/**/*.ts', '**/*.test.ts', '**/*.e2e.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['gateway/dashboard/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
