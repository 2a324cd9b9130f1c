/**
 * `npm run bench:registry -- <N>`: lookups at the size of a real registry. Loads a
 * scope of N realistic patients (names from 20 given × 20 family names, so
 * thousands share a word; a few in ten without `name.text`, as other systems
 * write them; towns from common to rare) in transaction Bundles, then times
 * each lookup pair by pair, interleaved, against the minimal raw FHIR search
 * that answers it: library/raw median per lookup. Prints a Markdown table.
 *
 *   FHIR_BASE_URL=http://127.0.0.1:8080/fhir npm run bench:registry -- 100000
 *   BENCH_REGISTRY_SCOPE=<code> …   reuse a scope loaded by an earlier run (same N)
 *   BENCH_ITERATIONS=15 BENCH_WARMUP=3 …   timed iterations per lookup, after the warm-ups
 *   BENCH_ONLY=location,birth …     only the lookups whose title holds one of these words
 *
 * Without FHIR_BASE_URL it starts the bundled HAPI server (in memory).
 */
import { randomBytes } from 'node:crypto';
import { FhirStorage, comparisons as C, type Lookup } from '../src/index.js';
import { startLocalFhirServer, type LocalFhirServer } from '../fhir-server/launcher/index.js';
import { rawFhirClient } from './raw-fhir.js';

const GIVEN = ['Amina', 'Grace', 'Joseph', 'Peter', 'Sarah', 'Esther', 'Moses', 'Ruth', 'David', 'Mary', 'Samuel', 'Agnes', 'John', 'Florence', 'Patrick', 'Betty', 'James', 'Harriet', 'Daniel', 'Irene']; // prettier-ignore
const FAMILY = ['Okello', 'Odongo', 'Akello', 'Ocen', 'Opio', 'Auma', 'Obina', 'Adong', 'Okot', 'Atim', 'Ojok', 'Lakot', 'Oryem', 'Acan', 'Olanya', 'Aber', 'Komakech', 'Lanyero', 'Ocaya', 'Anena']; // prettier-ignore
/** Towns by weight: the first holds a twentieth of the registry; `Parish <n>` towns a handful each. */
const TOWNS: [string, number][] = [['Gulu', 50], ['Lira', 40], ['Kitgum', 30], ['Pader', 20], ['Amuru', 15], ['Nwoya', 10], ['Agago', 10], ['Omoro', 5]]; // prettier-ignore
const RARE_TOWNS = 997;
const SOURCE = 'registry';
const SOURCE_SYSTEM = `urn:healthcare-fhir:source:${SOURCE}`;
const DAY = 86_400_000;

const count = Number(process.argv[2] ?? process.env.BENCH_REGISTRY_SIZE ?? 10_000);
if (!Number.isInteger(count) || count < 1000) {
  console.error('usage: npm run bench:registry -- <N ≥ 1000 patients>');
  process.exit(2);
}
const iterations = Number(process.env.BENCH_ITERATIONS ?? 15);
const warmup = Number(process.env.BENCH_WARMUP ?? 3);

/** Patient i of the registry: its record values and whether it carries `name.text`. */
function person(i: number) {
  const given = GIVEN[i % 20]!;
  const family = FAMILY[Math.floor(i / 20) % 20]!;
  const weighted = i % 200; // 180 of 200 in a common town, 20 in one of RARE_TOWNS
  let town = `Parish ${i % RARE_TOWNS}`;
  for (let at = 0, k = 0; k < TOWNS.length; k++)
    if (weighted < (at += TOWNS[k]![1])) {
      town = TOWNS[k]![0];
      break;
    }
  const birth = new Date(Date.UTC(1940, 0, 1) + ((i * 7919) % 29_220) * DAY);
  return {
    name: `${given} ${family} ${i.toString(36)}`,
    location: town,
    birthDate: birth.toISOString().slice(0, 10),
    withText: i % 20 !== 7, // one in twenty as other systems write it: given and family only
  };
}

function resource(i: number, tag: { system: string; code: string }) {
  const p = person(i);
  const words = p.name.split(' ');
  const name = { family: words.at(-1), given: words.slice(0, -1) };
  return {
    resourceType: 'Patient',
    meta: { tag: [tag] },
    identifier: [{ system: SOURCE_SYSTEM, value: `${tag.code}-${i}` }],
    extension: [
      {
        url: 'https://healthcare-fhir.dev/fhir/StructureDefinition/created-date',
        valueDateTime: new Date().toISOString(),
      },
    ],
    name: [p.withText ? { text: p.name, ...name } : name],
    gender: i % 2 ? 'female' : 'male',
    birthDate: p.birthDate,
    address: [{ city: p.location }],
    active: true,
  };
}

const rawRequest = rawFhirClient('', { 'cache-control': 'no-cache' });
/** One raw GET (or POST of `body`) to an absolute URL; the JSON answer. */
const raw = async (url: string, body?: unknown): Promise<Record<string, unknown>> =>
  (await rawRequest(body === undefined ? 'GET' : 'POST', url, body)).body as Record<
    string,
    unknown
  >;

/** Every resource a raw search finds, following `next` links: how many. */
async function rawSearch(baseUrl: string, query: string): Promise<number> {
  let url: string | undefined = `${baseUrl}/Patient?${query}`;
  let found = 0;
  while (url) {
    const page = (await raw(url)) as {
      entry?: unknown[];
      link?: { relation: string; url: string }[];
    };
    found += page.entry?.length ?? 0;
    url = page.link?.find((l) => l.relation === 'next')?.url;
  }
  return found;
}

async function load(baseUrl: string, tag: { system: string; code: string }): Promise<void> {
  const batch = 500;
  let next = 0;
  const started = Date.now();
  await Promise.all(
    [0, 1].map(async () => {
      while (next < count) {
        const from = next;
        next += batch;
        const entry = [];
        for (let i = from; i < Math.min(from + batch, count); i++)
          entry.push({ resource: resource(i, tag), request: { method: 'POST', url: 'Patient' } });
        await raw(baseUrl, { resourceType: 'Bundle', type: 'transaction', entry });
        if ((from / batch) % 20 === 0) console.error(`loaded ${from + entry.length} of ${count}`);
      }
    }),
  );
  console.error(`loaded ${count} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Row {
  lookup: string;
  raw: string;
  library: number;
  rawMs: number;
  found: string;
}

async function main(): Promise<void> {
  let server: LocalFhirServer | undefined;
  let baseUrl = process.env.FHIR_BASE_URL;
  if (!baseUrl) {
    server = await startLocalFhirServer({ database: 'h2-memory', port: 0, onProgress: console.error }); // prettier-ignore
    baseUrl = server.baseUrl;
  }
  const reuse = process.env.BENCH_REGISTRY_SCOPE;
  const tag = { system: 'urn:healthcare-fhir:bench-registry', code: reuse ?? `r${count}-${randomBytes(4).toString('hex')}` }; // prettier-ignore
  const tagParam = `_tag=${encodeURIComponent(`${tag.system}|${tag.code}`)}`;
  if (!reuse) await load(baseUrl, tag);
  console.error(`scope ${tag.code} (BENCH_REGISTRY_SCOPE=${tag.code} reuses it)`);
  const storage = new FhirStorage({ baseUrl, scopeTag: tag });
  const enc = encodeURIComponent;
  // people with name.text (the raw exact search finds them too), spread over the registry
  const picks = (k: number) => {
    let i = Math.floor(((k * 7_654_321) % count) / 20) * 20 + 3 + (k % 7);
    while (!person(i % count).withText) i++;
    return i % count;
  };
  const rare = `Parish ${RARE_TOWNS - 3}`;
  const cases: [string, (k: number) => Lookup, (k: number) => string, number?][] = [
    ['name `==` (one person)', (k) => ['name', C.EQUAL, person(picks(k)).name], (k) => `name:exact=${enc(person(picks(k)).name)}`], // prettier-ignore
    ['name `in` (three people)', (k) => ['name', C.IN, [0, 1, 2].map((j) => person(picks(3 * k + j)).name)], (k) => `name:exact=${[0, 1, 2].map((j) => enc(person(picks(3 * k + j)).name.replaceAll(',', '\\,'))).join(',')}`], // prettier-ignore
    ['location `==` a rare town', () => ['location', C.EQUAL, rare], () => `address-city:exact=${enc(rare)}`], // prettier-ignore
    ['location `==` a common town', () => ['location', C.EQUAL, 'Omoro'], () => `address-city:exact=Omoro`, 5], // prettier-ignore
    ['birth date `==`', (k) => ['birth_date', C.EQUAL, person(picks(k)).birthDate], (k) => `birthdate=${person(picks(k)).birthDate}`], // prettier-ignore
    ['name `LIKE`', (k) => ['name', C.LIKE, ` ${picks(k).toString(36)}`], (k) => `name:contains=${picks(k).toString(36)}`], // prettier-ignore
  ];
  const only = process.env.BENCH_ONLY?.split(',');
  const wanted = (title: string) => !only || only.some((word) => title.includes(word));
  const rows: Row[] = [];
  for (const [lookup, library, query, times = iterations] of cases) {
    if (!wanted(lookup)) continue;
    const lib: number[] = [];
    const rw: number[] = [];
    let found = '';
    for (let k = 0; k < warmup + times; k++) {
      for (const side of k % 2 ? ['raw', 'library'] : ['library', 'raw']) {
        const start = process.hrtime.bigint();
        const n =
          side === 'library'
            ? (await storage.filterPatients(library(k))).length
            : await rawSearch(baseUrl, `${query(k)}&${tagParam}&_count=1000`);
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (k >= warmup) (side === 'library' ? lib : rw).push(ms);
        if (k === warmup) found += `${side === 'library' ? 'library' : 'raw'} ${n} `;
      }
    }
    rows.push({ lookup, raw: query(0).replace(/=.*/, '='), library: median(lib), rawMs: median(rw), found }); // prettier-ignore
    console.error(`${lookup}: ${median(lib).toFixed(1)} vs ${median(rw).toFixed(1)} ms`);
  }
  // get by source: the link identifier, as FhirStorage looks it up
  if (wanted('get by source')) {
    const lib: number[] = [];
    const rw: number[] = [];
    for (let k = 0; k < warmup + iterations; k++) {
      const i = picks(k);
      const l0 = process.hrtime.bigint();
      await storage.getPatient(`${tag.code}-${i}`, SOURCE);
      const l1 = process.hrtime.bigint();
      await rawSearch(
        baseUrl,
        `identifier=${enc(`${SOURCE_SYSTEM}|${tag.code}-${i}`)}&${tagParam}`,
      );
      const r1 = process.hrtime.bigint();
      if (k >= warmup) {
        lib.push(Number(l1 - l0) / 1e6);
        rw.push(Number(r1 - l1) / 1e6);
      }
    }
    rows.push({ lookup: 'get by source', raw: 'identifier=', library: median(lib), rawMs: median(rw), found: '1' }); // prettier-ignore
  }
  console.log(`\nN = ${count.toLocaleString('en')} patients (scope ${tag.code}), ${iterations} iterations, medians\n`); // prettier-ignore
  console.log('| lookup | library | raw | ratio | raw search | records (first timed) |');
  console.log('|---|---:|---:|---:|---|---|');
  for (const r of rows)
    console.log(
      `| ${r.lookup} | ${r.library.toFixed(1)} ms | ${r.rawMs.toFixed(1)} ms | ${(r.library / r.rawMs).toFixed(2)}× | \`${r.raw}\` | ${r.found.trim()} |`,
    );
  rawRequest.close();
  await server?.stop();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
