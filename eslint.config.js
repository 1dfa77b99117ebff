/**
 * Lint rules for the whole repository: ESLint's and typescript-eslint's
 * recommended sets, plus no-floating-promises (type-aware), because a promise
 * nobody awaits hides both its failure and the order of events in a test.
 */
import js from '@eslint/js'
import { defineConfig } from 'eslint/config'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default defineConfig(
  { ignores: ['**/dist/', '**/node_modules/', 'data/', 'test-results/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        // The same programs `npm run typecheck` builds.
        project: ['./tsconfig.check.json', './client/tsconfig.json', './client/provider/tsconfig.json', './client/editor/tsconfig.json', './client/react/tsconfig.json', './examples/react-vite/tsconfig.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
  {
    // The examples are browser apps (their Vite config, if any, aside).
    files: ['examples/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
)
