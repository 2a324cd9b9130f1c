/**
 * `npm run bench`: what FhirStorage costs over the raw FHIR calls an
 * application would make by hand, measured in the same run on the same server.
 *
 * For each operation: mean latency of FhirStorage vs the raw request(s), the
 * ratio, and the HTTP round trips per operation (counted on global fetch).
 * Without FHIR_BASE_URL it starts the local HAPI FHIR server (in memory).
 *
 *   npm run bench                  # 200 iterations per operation
 *   BENCH_ITERATIONS=50 npm run bench
 */
import { randomBytes } from 'node:crypto';
import { FhirStorage, comparisons as C } from '../src/index.js';
import { startLocalFhirServer, type LocalFhirServer } from '../fhir-server/launcher/index.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 200);
const warmup = Math.min(20, iterations);

let requests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  requests++;
  return realFetch(input, init);
};

/** A name part that only record i contains. */
const serial = (i: number) => `n${String(i).padStart(5, '0')}x`;

interface Row {
  operation: string;
  oursMs: number;
  rawMs: number;
  oursTrips: number;
  rawTrips: number;
}

type Step = (i: number) => Promise<unknown>;

/**
 * FhirStorage and the raw calls alternate iteration by iteration, so neither
 * side runs on a colder (or warmer) server than the other.
 */
async function measurePair(ours: Step, raw: Step): Promise<Omit<Row, 'operation'>> {
  for (let i = 0; i < warmup; i++) {
    await ours(i);
    await raw(i);
  }
  const totals = [
    { ns: 0n, trips: 0 },
    { ns: 0n, trips: 0 },
  ];
  for (let i = 0; i < iterations; i++) {
    for (const [side, step] of [ours, raw].entries()) {
      const before = requests;
      const start = process.hrtime.bigint();
      await step(i);
      totals[side]!.ns += process.hrtime.bigint() - start;
      totals[side]!.trips += requests - before;
    }
  }
  const [o, r] = totals.map((t) => ({
    ms: Number(t.ns) / 1e6 / iterations,
    trips: t.trips / iterations,
  }));
  return { oursMs: o!.ms, rawMs: r!.ms, oursTrips: o!.trips, rawTrips: r!.trips };
}

async function main(): Promise<void> {
  let server: LocalFhirServer | undefined;
  let baseUrl = process.env.FHIR_BASE_URL;
  if (!baseUrl) {
    server = await startLocalFhirServer({
      database: 'h2-memory',
      port: 0,
      onProgress: (m) => console.error(m),
    });
    baseUrl = server.baseUrl;
  }
  try {
    const tag = { system: 'urn:healthcare-fhir:bench', code: randomBytes(6).toString('hex') };
    const storage = new FhirStorage({ baseUrl, scopeTag: tag });
    const json = { accept: 'application/fhir+json', 'content-type': 'application/fhir+json' };
    const raw = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) => {
      const res = await fetch(path.startsWith('http') ? path : `${baseUrl}/${path}`, {
        method,
        headers: { ...json, ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300)
        throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 200)}`);
      return { body: text ? JSON.parse(text) : undefined, etag: res.headers.get('etag') };
    };
    const rawPatient = (i: number) => ({
      resourceType: 'Patient',
      meta: { tag: [tag] },
      name: [{ text: `Raw ${tag.code} ${serial(i)}` }],
      gender: 'female',
      birthDate: '2001-02-03',
      active: true,
    });

    const rows: Row[] = [];
    const compare = async (operation: string, ours: Step, rawFn: Step) => {
      rows.push({ operation, ...(await measurePair(ours, rawFn)) });
    };

    const oursIds: string[] = [];
    const rawIds: string[] = [];
    await compare(
      'create',
      async (i) =>
        oursIds.push(
          (
            await storage.createPatient({
              name: `Ours ${tag.code} ${serial(i)}`,
              sex: 'F',
              birth_date: '2001-02-03',
            })
          ).id,
        ),
      async (i) => rawIds.push((await raw('POST', 'Patient', rawPatient(i))).body.id),
    );
    const pick = (ids: string[], i: number) => ids[i % ids.length]!;
    await compare(
      'get by id',
      (i) => storage.getPatient(pick(oursIds, i)),
      (i) => raw('GET', `Patient/${pick(rawIds, i)}`),
    );
    await compare(
      'update (partial)',
      (i) => storage.updatePatient(pick(oursIds, i), { location: `Ward ${i}` }),
      async (i) => {
        const { body, etag } = await raw('GET', `Patient/${pick(rawIds, i)}`);
        body.address = [{ text: `Ward ${i}` }];
        await raw('PUT', `Patient/${body.id}`, body, { 'if-match': etag! });
      },
    );
    const tagParam = `_tag=${encodeURIComponent(`${tag.system}|${tag.code}`)}`;
    await compare(
      'filter name LIKE (one match)',
      (i) => storage.filterPatients(['name', C.LIKE, serial(i)]),
      (i) => raw('GET', `Patient?name:contains=${serial(i)}&${tagParam}`),
    );
    /** A raw search, following every `next` link as FhirStorage does. */
    const rawSearchAll = async (query: string) => {
      let page = (await raw('GET', query)).body;
      for (;;) {
        const next = page.link?.find((l: { relation: string }) => l.relation === 'next')?.url;
        if (!next) return;
        page = (await raw('GET', next)).body;
      }
    };
    await compare(
      'filter birth_date range (every record of the run)',
      () =>
        storage.filterPatients(
          ['birth_date', C.GTE, '2001-01-01'],
          ['birth_date', C.LT, '2002-01-01'],
        ),
      () =>
        rawSearchAll(
          `Patient?birthdate=ge2001-01-01&birthdate=lt2002-01-01&${tagParam}&_count=200`,
        ),
    );
    await compare(
      'link + get by source',
      async (i) => {
        await storage.linkPatient(pick(oursIds, i), `src-${i}`, 'bench');
        await storage.getPatient(`src-${i}`, 'bench');
      },
      async (i) => {
        const { body, etag } = await raw('GET', `Patient/${pick(rawIds, i)}`);
        (body.identifier ??= []).push({ system: 'urn:bench', value: `src-${i}` });
        await raw('PUT', `Patient/${body.id}`, body, { 'if-match': etag! });
        await raw(
          'GET',
          `Patient?identifier=${encodeURIComponent(`urn:bench|src-${i}`)}&${tagParam}`,
        );
      },
    );
    const deletions = { ours: [...oursIds], raw: [...rawIds] };
    await compare(
      'delete',
      () => storage.deletePatient(deletions.ours.pop()!),
      () => raw('DELETE', `Patient/${deletions.raw.pop()!}`),
    );

    console.log(
      `\nFhirStorage vs raw FHIR requests, ${iterations} iterations each (after ${warmup} warm-up), ${baseUrl}\n`,
    );
    console.log('| operation | FhirStorage ms | raw FHIR ms | ratio | round trips (ours / raw) |');
    console.log('|---|---:|---:|---:|---|');
    for (const r of rows) {
      console.log(
        `| ${r.operation} | ${r.oursMs.toFixed(2)} | ${r.rawMs.toFixed(2)} | ${(r.oursMs / r.rawMs).toFixed(2)} | ${r.oursTrips.toFixed(2)} / ${r.rawTrips.toFixed(2)} |`,
      );
    }
    await storage.close?.();
  } finally {
    await server?.stop();
  }
}

await main();
