/**
 * `npm run bench:stream`: peak RSS and time to first record when filtering a
 * large scope, array vs stream, through the library and through the facade.
 * Each measurement runs in a fresh child process (its own peak RSS). Point
 * it at a server holding the records (load them with `healthcare-fhir import`):
 *
 *   FHIR_BASE_URL=… FHIR_SCOPE_TAG='system|code' npm run bench:stream
 *
 * The lookup is one the server cannot narrow (`birth_date LIKE '19'`), so the
 * whole scope is downloaded and filtered by the adapter.
 */
import { spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { comparisons as C, type Lookup } from '../src/index.js';
import { createApp } from '../src/http/app.js';
import { storageFromEnv } from '../src/cli/options.js';

const lookup: Lookup = ['birth_date', C.LIKE, '19'];
const mode = process.argv[2];

interface Result {
  mode: string;
  records: number;
  firstMs: number;
  totalMs: number;
  peakRssMb: number;
}

const peakRssMb = () => process.resourceUsage().maxRSS / 1024;

/** Runs one mode in this process and prints its Result as JSON. */
async function measureHere(name: string): Promise<void> {
  const storage = storageFromEnv();
  const start = performance.now();
  let first = 0;
  let records = 0;
  const seen = () => {
    if (records++ === 0) first = performance.now() - start;
  };
  if (name === 'library-array') {
    for (const _ of await storage.filterPatients(lookup)) seen();
  } else if (name === 'library-stream') {
    for await (const _ of storage.iterPatients(lookup)) seen();
  } else {
    // the facade in this process, a client reading the answer as it arrives
    const app =
      name === 'facade-stream'
        ? createApp({ storage, logger: pino({ level: 'silent' }) })
        : // what the facade did before streaming: the whole array, then res.json
          createApp({
            storage: Object.assign(Object.create(storage) as typeof storage, {
              iterPatients: async function* () {
                yield* await storage.filterPatients(lookup);
              },
            }),
            logger: pino({ level: 'silent' }),
          });
    const listener = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => listener.once('listening', resolve));
    const port = (listener.address() as AddressInfo).port;
    const response = await fetch(`http://127.0.0.1:${port}/patients?birth_date__like=19`, {
      headers: { accept: 'application/x-ndjson' },
    });
    let tail = '';
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
      const lines = (tail + Buffer.from(chunk).toString('utf8')).split('\n');
      tail = lines.pop()!;
      for (const line of lines) if (line) seen();
    }
    listener.close();
  }
  const result: Result = {
    mode: name,
    records,
    firstMs: first,
    totalMs: performance.now() - start,
    peakRssMb: peakRssMb(),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function child(name: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', process.argv[1]!, name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out) as Result) : reject(new Error(`${name} exited ${code}`)),
    );
  });
}

if (mode) {
  await measureHere(mode);
} else {
  const results: Result[] = [];
  for (const name of ['library-array', 'library-stream', 'facade-array', 'facade-stream']) {
    results.push(await child(name));
    console.error(`${name}: done`);
  }
  console.log('| mode | records | first record (ms) | total (s) | peak RSS (MB) |');
  console.log('|---|---:|---:|---:|---:|');
  for (const r of results)
    console.log(
      `| ${r.mode} | ${r.records} | ${r.firstMs.toFixed(0)} | ${(r.totalMs / 1000).toFixed(1)} | ${r.peakRssMb.toFixed(0)} |`,
    );
}
