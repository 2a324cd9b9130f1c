/**
 * `npm run bench:import`: whether an import's cost follows its file, not what
 * the server holds, and what it costs over the server's own rate. Against a
 * server and scope you loaded (FHIR_BASE_URL, FHIR_SCOPE_TAG), in the same
 * run: HAPI's own transaction rate (raw Bundles of 250 POSTs, concurrency 4,
 * no library) and `healthcare-fhir import` of a new file of the same number
 * of rows (its process start, row validation and per-batch searches
 * included). The raw side writes the resources the import writes, element
 * for element (the record's created_date extension and `active`, the
 * import-row identifier): checked after the first round against what both
 * sides stored, so the ratio is the library's cost, not the record's. The
 * order alternates (raw, import, import, raw, …) so that a server slowing as
 * it fills (H2 on disk does) weighs on both sides alike.
 *
 *   FHIR_BASE_URL=… FHIR_SCOPE_TAG='system|code' npm run bench:import -- [rows] [rounds]
 *
 * BENCH_CLI_ROOT runs the CLI of another checkout (the figures before a change).
 * The CLI is the built one users run (`npm run build` first: bench/built-cli.ts).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
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

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');
const CREATED_DATE_URL = 'https://healthcare-fhir.dev/fhir/StructureDefinition/created-date';
const IMPORT_ROW_SYSTEM = 'urn:healthcare-fhir:import-row';

/** The family name of a round's rows, side by side: how `sameShape` finds one of each. */
const family = (side: 'R' | 'C', round: number) => `${side}${round}x${run}`;

/** Seconds HAPI takes for `rows` patients as the import writes them (bench/raw-transactions.ts). */
function rawRound(round: number): Promise<number> {
  return rawTransactions(baseUrl, rows, (i) => ({
    resourceType: 'Patient',
    meta: { tag: [{ system: scopeSystem, code: scopeCode }] },
    extension: [{ url: CREATED_DATE_URL, valueDateTime: new Date().toISOString() }],
    // 40 hex digits of SHA-256, as the import's row hashes are: index keys of the same spread
    identifier: [
      { system: IMPORT_ROW_SYSTEM, value: sha256Hex(`${run}:${round}:${i}`).slice(0, 40) },
    ],
    active: true,
    name: [
      { text: `Raw${i} ${family('R', round)}`, family: family('R', round), given: [`Raw${i}`] },
    ],
    gender: 'female',
    birthDate: '1990-01-01',
  }));
}

/** A stored resource's elements, extension urls and identifier systems (not their values). */
function shape(resource: Record<string, unknown>): string {
  const { extension, identifier, name } = resource as Record<
    string,
    { url?: string; system?: string }[]
  >;
  const keys = Object.keys(resource).filter((k) => k !== 'id' && k !== 'meta');
  return JSON.stringify([
    keys.sort(),
    extension?.map((e) => e.url),
    identifier?.map((e) => e.system),
    name?.map((n) => Object.keys(n).sort()),
  ]);
}

/** Refuses a run whose raw side no longer writes what the import writes. */
async function sameShape(round: number): Promise<void> {
  const [raw, cli] = await Promise.all(
    (['R', 'C'] as const).map(async (side) => {
      const url = `${baseUrl}/Patient?family=${family(side, round)}&_count=1`;
      const bundle = (await (await fetch(url)).json()) as {
        entry?: { resource: Record<string, unknown> }[];
      };
      const resource = bundle.entry?.[0]?.resource;
      if (!resource)
        throw new Error(`no ${side === 'R' ? 'raw' : 'imported'} patient found to compare`);
      return shape(resource);
    }),
  );
  if (raw !== cli) throw new Error(`the raw side writes ${raw}, the import ${cli}: fix rawRound`);
}

/** Seconds `healthcare-fhir import` takes for a new file of `rows` patients. */
async function cliImport(round: number): Promise<number> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-import-')), 'p.csv');
  const lines = ['name,sex,birth_date'];
  for (let i = 0; i < rows; i++) lines.push(`Cli${i} ${family('C', round)},F,1990-01-01`);
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
  const rawFirst = round % 2 === 0;
  const raw = rawFirst ? await rawRound(round) : 0;
  const cli = await cliImport(round);
  const rawSeconds = rawFirst ? raw : await rawRound(round);
  if (round === 0) await sameShape(round);
  results.push({ raw: rows / rawSeconds, cli: rows / cli });
  console.error(
    `round ${round}: raw ${(rows / rawSeconds).toFixed(0)} rows/s, import ${(rows / cli).toFixed(0)} rows/s, import / raw ${(rawSeconds / cli).toFixed(2)}`,
  );
}
const mean = (k: 'raw' | 'cli') => results.reduce((a, r) => a + r[k], 0) / results.length;
const ratios = results.map((r) => Number((r.cli / r.raw).toFixed(2)));
console.log(
  JSON.stringify({
    scope_held_before: before,
    rows,
    rounds,
    raw_rows_per_s: Math.round(mean('raw')),
    import_rows_per_s: Math.round(mean('cli')),
    import_over_raw: Number((mean('cli') / mean('raw')).toFixed(2)),
    import_over_raw_by_round: ratios,
    cli: cliRoot,
  }),
);
