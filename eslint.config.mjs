import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The layering drawn in docs/design.md, enforced: each entry names the folders that must not
// import some others. Patterns match relative imports such as '../tap/socket-tap'.
const folder = (name) => [`**/${name}`, `**/${name}/*`, `**/${name}/**`];
const forbid = (files, folders, why) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: folders.flatMap(folder), message: why }] }],
  },
});

// Only the CLI (and the entry points that start the SDK) reads the process: its arguments,
// environment, streams and exit code. Everything else takes what it needs as parameters.
const NO_PROCESS = 'only the CLI and the startup code touch `process`: pass what you need as a parameter';
const noProcess = {
  files: [
    'src/analysis/**',
    'src/render/**',
    'src/report/**',
    'src/protocols/**',
    'src/spans/**',
    'src/coverage/**',
    'src/metrics/**',
  ],
  rules: {
    'no-restricted-globals': ['error', { name: 'process', message: NO_PROCESS }],
    'no-restricted-properties': ['error', { object: 'globalThis', property: 'process', message: NO_PROCESS }],
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bench/results/**', 'examples/**/node_modules/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  forbid(
    ['src/protocols/**', 'src/analysis/**', 'src/render/**', 'src/report/**'],
    ['tap', 'cli', 'node:process', 'process'],
    'protocols, analysis, rendering and the report never import the tap or the CLI (docs/design.md)',
  ),
  forbid(
    ['src/tap/**'],
    ['analysis', 'cli', 'render', 'report'],
    'the tap never imports analysis, rendering or the CLI (docs/design.md)',
  ),
  forbid(
    ['src/testing/**'],
    ['cli', 'startup'],
    'sockscope/testing is a library for tests: it never imports the CLI or the zero-code start (docs/design.md)',
  ),
  forbid(
    ['src/metrics/**'],
    ['tap', 'cli', 'analysis', 'render', 'report', 'startup'],
    'metric recording is used by the tap: it imports only span output (docs/design.md)',
  ),
  forbid(
    ['src/spans/**', 'src/coverage/**'],
    ['tap', 'cli', 'analysis', 'render', 'report', 'startup'],
    'span output and the coverage rule are used by the tap and the analysis: they import neither (docs/design.md)',
  ),
  noProcess,
);
