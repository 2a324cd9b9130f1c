/**
 * `npm run bench:stream-rate`: records/s of streaming a whole scope with
 * default settings against the server's own paging, in the same run,
 * alternating: `iterPatients()` (no page size set: the server's largest
 * page), `healthcare-fhir export` (the built CLI users run, bench/built-cli.ts:
 * NDJSON to nowhere, its process start included), and raw paging (GET `[type]?_tag=<scope>&_count=1000`,
 * then the server's `next` links, no library).
 *
 *   FHIR_BASE_URL=… FHIR_SCOPE_TAG='system|code' npm run bench:stream-rate -- [rounds]
 */
import { spawn } from 'node:child_process';
import { storageFromEnv } from '../src/cli/options.js';
import { packageRoot } from '../src/shared/package-root.js';
import { builtCli } from './built-cli.js';

const baseUrl = process.env.FHIR_BASE_URL ?? '';
const scope = process.env.FHIR_SCOPE_TAG ?? '';
if (!baseUrl || !scope.includes('|')) throw new Error('set FHIR_BASE_URL and FHIR_SCOPE_TAG');
if (process.env.FHIR_PAGE_SIZE) throw new Error('unset FHIR_PAGE_SIZE: this measures the default');
const rounds = Number(process.argv[2] ?? 2);
const cliArgs = builtCli(packageRoot());

async function library(): Promise<number> {
  let n = 0;
  for await (const _ of storageFromEnv().iterPatients()) n++;
  return n;
}

function exportCli(): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliArgs, 'export', '--model', 'patient'], {
      cwd: packageRoot(),
      env: process.env,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let lines = 0;
    child.stdout.on('data', (chunk: Buffer) => {
      // native search for newlines: a JS loop over every byte cost this process CPU the export shares
      for (let at = chunk.indexOf(10); at >= 0; at = chunk.indexOf(10, at + 1)) lines++;
    });
    child.on('close', (code) =>
      code === 0 ? resolve(lines) : reject(new Error(`export ${code}`)),
    );
  });
}

async function raw(): Promise<number> {
  let url: string | undefined = `${baseUrl}/Patient?_tag=${encodeURIComponent(scope)}&_count=1000`;
  let n = 0;
  while (url) {
    const response = await fetch(url, { headers: { 'cache-control': 'no-cache' } });
    const bundle = (await response.json()) as {
      entry?: unknown[];
      link?: { relation: string; url: string }[];
    };
    n += bundle.entry?.length ?? 0;
    url = bundle.link?.find((l) => l.relation === 'next')?.url;
  }
  return n;
}

const sides = { library, export: exportCli, raw } as const;
const rates: Record<string, number[]> = { library: [], export: [], raw: [] };
let records = 0;
for (let round = 0; round < rounds; round++)
  for (const [name, side] of Object.entries(sides)) {
    const start = performance.now();
    records = await side();
    rates[name]!.push(records / ((performance.now() - start) / 1000));
    console.error(
      `round ${round} ${name}: ${records} records, ${rates[name]!.at(-1)!.toFixed(0)}/s`,
    );
  }
const mean = (k: string) => rates[k]!.reduce((a, b) => a + b, 0) / rates[k]!.length;
console.log(
  JSON.stringify({
    records,
    rounds,
    library_per_s: Math.round(mean('library')),
    export_per_s: Math.round(mean('export')),
    raw_per_s: Math.round(mean('raw')),
    library_over_raw: Number((mean('library') / mean('raw')).toFixed(2)),
    export_over_raw: Number((mean('export') / mean('raw')).toFixed(2)),
  }),
);
