import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const ts = ['**/*.ts'];

// The layering of src/ (docs/layout.md says the same at its top). Each zone: files under `target`
// may not import anything under `from` (paths from the repository root).
const everythingBut = (...allowed) => ({ from: './src', except: allowed.map((dir) => `./${dir}`) });
const layers = [
  // shared/: small helpers that know nothing of the project.
  { target: './src/shared', ...everythingBut('shared') },
  // api/: the models, records, lookups, errors and the storage interface.
  { target: './src/api', ...everythingBut('api', 'shared') },
  // transport/: how a request is sent, retried, authenticated (TLS, breaker).
  { target: './src/transport', ...everythingBut('transport', 'api', 'shared') },
  // backends/*: a storage behind the api/ interface; no HTTP facade, CLI, client or env reading.
  {
    target: './src/backends',
    from: [
      './src/http',
      './src/cli',
      './src/client',
      './src/config',
      './src/testing',
      './src/server.ts',
      './src/index.ts',
    ],
  },
  { target: './src/backends/memory', from: './src/backends/fhir' },
  { target: './src/backends/fhir', from: './src/backends/memory' },
  // client/: the facade's HTTP client; speaks HTTP to a facade, never loads the Express side or a backend.
  {
    target: './src/client',
    from: [
      './src/http',
      './src/backends',
      './src/cli',
      './src/config',
      './src/testing',
      './src/server.ts',
    ],
  },
  // config/: env vars validated at start-up into options; the server and the CLI read it, not the reverse.
  {
    target: './src/config',
    from: ['./src/cli', './src/client', './src/testing', './src/server.ts'],
  },
  // http/: the Express facade (routes, problems, audit); not the CLI, the client or the server's wiring.
  { target: './src/http', from: ['./src/cli', './src/client', './src/testing', './src/server.ts'] },
  // cli/: the command line; not the facade or its client.
  { target: './src/cli', from: ['./src/http', './src/client', './src/testing', './src/server.ts'] },
  // cli/check asks the storage and the transport, it does not build the REST client itself.
  { target: './src/cli/check', from: './src/backends/fhir/fhir-rest.ts' },
  // A lookup becomes a parameter in search-plan.ts without depending on the REST client.
  { target: './src/backends/fhir/search-plan.ts', from: './src/backends/fhir/fhir-rest.ts' },
  // testing/: the conformance suite runs against the api/ interface only.
  { target: './src/testing', ...everythingBut('testing', 'api', 'shared') },
];

// `allow(files, ...rules)` turns the named rules off for the named files ('ts/' stands for '@typescript-eslint/').
const allow = (files, ...rules) => ({
  files,
  rules: Object.fromEntries(
    rules.map((rule) => [rule.replace(/^ts\//, '@typescript-eslint/'), 'off']),
  ),
});

// Current violators, each with the helper of issue 19 who removes its entry as they fix it.
// State at 06:50 UTC (issue 19): no size (max-lines, max-lines-per-function), layering
// (no-restricted-paths) or cycle exception is left anywhere; what remains is type-checked rules only:
// "stores": memory/index.ts require-await (kept on purpose, see below), fhir/record-store.ts and
// cli/import.ts no-base-to-string; "perf": bench/facade-overhead.ts, bench/index.ts, bench/raw-fhir.ts
// (untyped JSON), fhir-server/launcher/start.ts (unbound-method), supervise.ts (reject with an Error).
// An entry turns the named rules off for the named files only; delete it when the file passes.
const allowlist = [
  // --- "stores" ---
  // MemoryStorage's stores are async without awaiting on purpose: a bad input rejects, as every backend's does.
  allow(['src/backends/memory/index.ts'], 'ts/require-await'),
  // --- "search" ---
  // --- "retry" ---
  // (none left: versioned-writes.ts, fhir-connection-env.ts, auth.ts and http.ts pass)
  // --- "perf" ---
  // The benchmark reads raw FHIR bodies as untyped JSON (bench/raw-fhir.ts: the baseline sends no library code).
  allow(
    ['bench/index.ts'],
    'ts/no-unsafe-argument',
    'ts/no-unsafe-member-access',
    'ts/no-unsafe-assignment',
    'ts/no-unsafe-call',
  ),
  // --- "lint" ---
];

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'data/',
      'fhir-server/target/',
      'node_modules/',
      'clients/python/.venv/',
      '.venv-tools/',
      '.schemathesis/',
      'src/backends/fhir/mapping-validator.generated.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...tseslint.configs.recommendedTypeCheckedOnly.map((config) => ({ ...config, files: ts })),
  {
    files: ts,
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // node:test's test()/describe() return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['test', 'it', 'describe', 'suite', 'before', 'after'],
            },
          ],
        },
      ],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ts,
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'import-x/no-restricted-paths': ['error', { zones: layers }],
      // A module is counted as `wc -l` counts it; a function by its code (blank and comment lines left out).
      'max-lines': ['error', { max: 350, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': [
        'error',
        { max: 60, skipBlankLines: true, skipComments: true, IIFEs: true },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Fakes implement async interfaces (stores, servers' stop()) without awaiting anything.
      '@typescript-eslint/require-await': 'off',
      // Tests read untyped JSON bodies (`await res.json()`) and assert on them; the assertion is the check.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
  ...allowlist,
);
