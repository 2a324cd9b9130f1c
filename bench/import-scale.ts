/**
 * `npm run bench:import`: whether an import's cost follows its file, not what
 * the server holds. Against a server and scope you loaded (FHIR_BASE_URL,
 * FHIR_SCOPE_TAG), in the same run, alternating: HAPI's own transaction rate
 * (raw Bundles of 250 POSTs of patients shaped as the import writes them,
 * concurrency 4, no library) and `healthcare-fhir import` of a new file of
 * the same number of rows (its process start and validation pass included).
 *
 *   FHIR_BASE_URL=… FHIR_SCOPE_TAG='system|code' npm run bench:import -- [rows] [rounds]
 *
 * BENCH_CLI_ROOT runs the CLI of another checkout (the figures before a change).
 * The CLI is the built one users run (`npm run build` first: bench/built-cli.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageRoot } from '../src/shared/package-root.js';
import { builtCli } from './built-cli.js';
import { rawTransactions } from './raw-transactions.js';

const baseUrl = process.env.FHIR_BASE_URL ?? '';
const scope = process.env.FHIR_SCOPE_TAG ?? '';
if (!baseUrl || !scope.includes('|')) throw new Error('set FHIR_BASE_URL and FHIR_SCOPE_TAG');
const [scopeSystem, scopeCode] = [
  scope.slice(0, scope.indexOf('|')),
  scope.slice(scope.indexOf('|') + 1),
];
const rows = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 2);
const cliRoot = process.env.BENCH_CLI_ROOT ?? packageRoot();
const cliArgs = builtCli(cliRoot);
const run = randomBytes(3).toString('hex');

async function scopeCount(): Promise<number> {
  const url = `${baseUrl}/Patient?_tag=${encodeURIComponent(scope)}&_summary=count`;
  const response = await fetch(url, { headers: { 'cache-control': 'no-cache' } });
  return ((await response.json()) as { total: number }).total;
}

/** Seconds HAPI takes for `rows` patients shaped as the import writes them (bench/raw-transactions.ts). */
function rawRound(round: number): Promise<number> {
  return rawTransactions(baseUrl, rows, (i) => ({
    resourceType: 'Patient',
    meta: { tag: [{ system: scopeSystem, code: scopeCode }] },
    identifier: [{ system: 'urn:bench:raw-row', value: `${run}-${round}-${i}` }],
    name: [{ text: `Raw${i} R${round}x${run}`, given: [`Raw${i}`], family: `R${round}x${run}` }],
    gender: 'female',
    birthDate: '1990-01-01',
  }));
}

/** Seconds `healthcare-fhir import` takes for a new file of `rows` patients. */
async function cliImport(round: number): Promise<number> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-import-')), 'p.csv');
  const lines = ['name,sex,birth_date'];
  for (let i = 0; i < rows; i++) lines.push(`Cli${i} C${round}x${run},F,1990-01-01`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs, 'import', file, '--model', 'patient'], {
      cwd: cliRoot,
      env: process.env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`import ${code}`))));
  });
  return (performance.now() - start) / 1000;
}

const before = await scopeCount();
const results: { raw: number; cli: number }[] = [];
for (let round = 0; round < rounds; round++) {
  const raw = await rawRound(round);
  const cli = await cliImport(round);
  results.push({ raw: rows / raw, cli: rows / cli });
  console.error(
    `round ${round}: raw ${(rows / raw).toFixed(0)} rows/s, import ${(rows / cli).toFixed(0)} rows/s`,
  );
}
const sum = (k: 'raw' | 'cli') => results.reduce((a, r) => a + r[k], 0) / results.length;
console.log(
  JSON.stringify({
    scope_held_before: before,
    rows,
    rounds,
    raw_rows_per_s: Math.round(sum('raw')),
    import_rows_per_s: Math.round(sum('cli')),
    import_over_raw: Number((sum('cli') / sum('raw')).toFixed(2)),
    cli: cliRoot,
  }),
);
