/**
 * `npm run bench`: writes BENCHMARKS.md. Every operation three ways in the
 * same run, interleaved iteration by iteration (the order rotating): the
 * library (FhirStorage), the facade (HttpStorage → createApp → FhirStorage,
 * in this process), and the minimal raw FHIR requests doing the same work.
 * Median and p95 latency, throughput at concurrency 1 and 16, ratios to raw,
 * and FHIR round trips per operation (counted on node:http's request
 * channel, FHIR host only).
 * Then bulk import (the CLI) against sequential createPatient.
 *
 * Without FHIR_BASE_URL it starts the bundled HAPI server (in memory).
 *   npm run bench                      # 30 iterations, 1000-row import
 *   BENCH_ITERATIONS=200 BENCH_IMPORT_ROWS=10000 npm run bench
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { FhirStorage, HttpStorage, comparisons as C, type Lookup } from '../src/index.js';
import { FhirRestClient } from '../src/backends/fhir/fhir-rest.js';
import { reportLinkGuarantee } from '../src/backends/fhir/link-guarantee-report.js';
import { createApp } from '../src/http/app.js';
import { packageRoot } from '../src/shared/package-root.js';
import { pino } from 'pino';
import { startLocalFhirServer, type LocalFhirServer } from '../fhir-server/launcher/index.js';
import { rawFhirClient } from './raw-fhir.js';
import { RAW_BUNDLE_SIZE, rawTransactions } from './raw-transactions.js';

const iterations = Number(process.env.BENCH_ITERATIONS ?? 30);
const importRows = Number(process.env.BENCH_IMPORT_ROWS ?? 1000);
// enough for the JITs of HAPI and of this process to settle before anything is timed
const warmup = Number(process.env.BENCH_WARMUP ?? Math.min(30, iterations));
const sides = ['library', 'facade', 'raw'] as const;
type Side = (typeof sides)[number];
type Step = (i: number) => Promise<unknown>;

let fhirHost = '';
let fhirTrips = 0;
diagnostics.subscribe('http.client.request.start', (message) => {
  const { request } = message as { request: http.ClientRequest };
  if (request.getHeader('host') === fhirHost) fhirTrips++;
});

const serial = (i: number) => `n${String(i).padStart(6, '0')}x`;
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

interface Stats {
  median: number;
  p95: number;
  trips: number;
  c1: number;
  c16?: number;
}

async function measure(steps: Record<Side, Step>): Promise<Record<Side, Stats>> {
  for (let i = 0; i < warmup; i++) for (const side of sides) await steps[side](1_000_000 + i);
  const times: Record<Side, number[]> = { library: [], facade: [], raw: [] };
  const trips: Record<Side, number> = { library: 0, facade: 0, raw: 0 };
  for (let i = 0; i < iterations; i++) {
    const order = sides.map((_, k) => sides[(i + k) % sides.length]!);
    for (const side of order) {
      const before = fhirTrips;
      const start = process.hrtime.bigint();
      await steps[side](i);
      times[side].push(Number(process.hrtime.bigint() - start) / 1e6);
      trips[side] += fhirTrips - before;
    }
  }
  const result = {} as Record<Side, Stats>;
  for (const side of sides) {
    const sorted = [...times[side]].sort((a, b) => a - b);
    const total = sorted.reduce((a, b) => a + b, 0);
    result[side] = {
      median: quantile(sorted, 0.5),
      p95: quantile(sorted, 0.95),
      trips: trips[side] / iterations,
      c1: (1000 * iterations) / total,
    };
  }
  return result;
}

/** Operations per second with 16 at a time (each side on its own, `count` operations). */
async function throughput16(step: Step, count: number, offset: number): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) await step(offset + next++);
    }),
  );
  return (count * 1e9) / Number(process.hrtime.bigint() - start);
}

/** Where this bench's part of BENCHMARKS.md ends: what follows is never rewritten by it. */
const HAND_KEPT =
  '<!-- npm run bench rewrites what is above this line and keeps what is below: sections written by hand and by the other benches -->';

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
  fhirHost = new URL(baseUrl).host;
  const runStarted = new Date();
  const tag = { system: 'urn:healthcare-fhir:bench', code: randomBytes(6).toString('hex') };
  const tagParam = `_tag=${encodeURIComponent(`${tag.system}|${tag.code}`)}`;
  // links as a user who ran `check --install` has them: the server refuses a second holder
  const guarantee = await reportLinkGuarantee(
    new FhirRestClient({ baseUrl }),
    {},
    { install: true },
  );
  const linkMode = guarantee.lines.join(' ').trim();
  const storage = new FhirStorage({ baseUrl, scopeTag: tag });
  const app = createApp({ storage, logger: pino({ level: 'silent' }) });
  const listener = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => listener.once('listening', resolve));
  const facade = new HttpStorage({
    baseUrl: `http://127.0.0.1:${(listener.address() as AddressInfo).port}`,
  });
  // raw FHIR on node:http as our transport sends it (keep-alive, gzip accepted): the same bytes on the wire
  const raw = rawFhirClient(baseUrl, { 'content-type': 'application/fhir+json' });
  const record = (i: number) => ({
    name: `Bench ${serial(i)}`,
    sex: 'F' as const,
    birth_date: '2001-02-03',
  });
  /** The resource FhirStorage writes for `record(i)`: the same work for the raw side. */
  const rawResource = (i: number) => ({
    resourceType: 'Patient',
    meta: { tag: [tag] },
    extension: [
      {
        url: 'https://healthcare-fhir.dev/fhir/StructureDefinition/created-date',
        valueDateTime: new Date().toISOString(),
      },
    ],
    name: [{ text: `Bench ${serial(i)}`, family: 'Bench', given: [serial(i)] }],
    gender: 'female',
    birthDate: '2001-02-03',
    active: true,
  });

  // a pool of records per side, and fresh ones to delete
  const pool = iterations + warmup + 16 * 4;
  const ids: Record<Side, string[]> = { library: [], facade: [], raw: [] };
  for (const side of sides)
    for (let i = 0; i < pool; i++) ids[side].push((await storage.createPatient(record(i))).id);
  const pick = (side: Side, i: number) => ids[side][i % ids[side].length]!;
  for (const side of sides)
    for (let i = 0; i < pool; i++)
      await storage.linkPatient(pick(side, i), `gbs-${side}-${i}`, 'bench');
  const sourceSystem = 'urn:healthcare-fhir:source:bench';

  const rows: { operation: string; stats: Record<Side, Stats> }[] = [];
  const run = async (operation: string, steps: Record<Side, Step>, c16 = false) => {
    const stats = await measure(steps);
    if (c16)
      for (const side of sides) stats[side].c16 = await throughput16(steps[side], 64, 2_000_000);
    rows.push({ operation, stats });
    console.error(`${operation}: done`);
  };
  const created: Record<Side, string[]> = { library: [], facade: [], raw: [] };
  await run(
    'create',
    {
      library: async (i) => created.library.push((await storage.createPatient(record(i))).id),
      facade: async (i) => created.facade.push((await facade.createPatient(record(i))).id),
      raw: async (i) =>
        created.raw.push(
          (await raw('POST', 'Patient', rawResource(i), { prefer: 'return=representation' })).body
            .id,
        ),
    },
    true,
  );
  await run(
    'get',
    {
      library: (i) => storage.getPatient(pick('library', i)),
      facade: (i) => facade.getPatient(pick('facade', i)),
      raw: (i) => raw('GET', `Patient/${pick('raw', i)}`),
    },
    true,
  );
  await run(
    'get by source',
    {
      library: (i) => storage.getPatient(`gbs-library-${i % pool}`, 'bench'),
      facade: (i) => facade.getPatient(`gbs-facade-${i % pool}`, 'bench'),
      raw: (i) =>
        raw(
          'GET',
          `Patient?identifier=${encodeURIComponent(`${sourceSystem}|gbs-raw-${i % pool}`)}&${tagParam}`,
        ),
    },
    true,
  );
  await run('update', {
    library: (i) => storage.updatePatient(pick('library', i), { location: `Ward ${i}` }),
    facade: (i) => facade.updatePatient(pick('facade', i), { location: `Ward ${i}` }),
    raw: async (i) => {
      const { body, etag } = await raw('GET', `Patient/${pick('raw', i)}`);
      body.address = [{ city: `Ward ${i}` }];
      await raw('PUT', `Patient/${body.id}`, body, { 'if-match': etag! });
    },
  });
  const filters: [string, Lookup[], (i: number) => string][] = [
    ['filter, 1 lookup (1 match)', [], (i) => `name:contains=${serial(i)}`],
    [
      'filter, 2 lookups (1 match)',
      [['sex', C.EQUAL, 'F']],
      (i) => `name:contains=${serial(i)}&gender=female`,
    ],
    [
      'filter, 3 lookups (1 match)',
      [
        ['sex', C.EQUAL, 'F'],
        ['birth_date', C.GTE, '2001-01-01'],
      ],
      (i) => `name:contains=${serial(i)}&gender=female&birthdate=ge2000-12-31`,
    ],
  ];
  for (const [operation, more, query] of filters) {
    const lookups = (i: number): Lookup[] => [['name', C.LIKE, serial(i % pool)], ...more];
    await run(
      operation,
      {
        library: (i) => storage.filterPatients(...lookups(i)),
        facade: (i) => facade.filterPatients(...lookups(i)),
        raw: (i) => raw('GET', `Patient?${query(i % pool)}&${tagParam}&_count=200`),
      },
      operation.includes('1 lookup'),
    );
  }

  // 1,000 records in a scope of their own (written in batch Bundles)
  const big = { system: 'urn:healthcare-fhir:bench', code: `k-${tag.code}` };
  const bigParam = `_tag=${encodeURIComponent(`${big.system}|${big.code}`)}`;
  for (let b = 0; b < 10; b++)
    await raw('POST', baseUrl, {
      resourceType: 'Bundle',
      type: 'batch',
      entry: Array.from({ length: 100 }, (_, k) => ({
        resource: {
          ...rawResource(b * 100 + k),
          meta: { tag: [big] },
          name: [{ text: `Thousand ${b * 100 + k}` }],
        },
        request: { method: 'POST', url: 'Patient' },
      })),
    });
  const bigStorage = new FhirStorage({ baseUrl, scopeTag: big });
  const bigApp = createApp({ storage: bigStorage, logger: pino({ level: 'silent' }) });
  const bigListener = bigApp.listen(0, '127.0.0.1');
  await new Promise((resolve) => bigListener.once('listening', resolve));
  const bigFacade = new HttpStorage({
    baseUrl: `http://127.0.0.1:${(bigListener.address() as AddressInfo).port}`,
  });
  /** Raw: `_offset` pages of 200 (HAPI's cheapest paging), as a hand-written client would. */
  const rawPages = async () => {
    let count = 0;
    for (let offset = 0; ; offset += 200) {
      const page = (
        await raw('GET', `Patient?name:contains=Thousand&${bigParam}&_count=200&_offset=${offset}`)
      ).body;
      count += page.entry?.length ?? 0;
      if (!page.link?.some((l: { relation: string }) => l.relation === 'next')) return count;
    }
  };
  await run('filter returning 1,000 records', {
    library: () => bigStorage.filterPatients(['name', C.LIKE, 'Thousand']),
    facade: () => bigFacade.filterPatients(['name', C.LIKE, 'Thousand']),
    raw: rawPages,
  });

  await run('link', {
    library: (i) => storage.linkPatient(pick('library', i), `l-library-${i}`, 'bench'),
    facade: (i) => facade.linkPatient(pick('facade', i), `l-facade-${i}`, 'bench'),
    raw: async (i) => {
      const { body, etag } = await raw('GET', `Patient/${pick('raw', i)}`);
      (body.identifier ??= []).push({ system: sourceSystem, value: `l-raw-${i}` });
      await raw('PUT', `Patient/${body.id}`, body, { 'if-match': etag! });
    },
  });
  await run('unlink', {
    library: (i) => storage.unlinkPatient(pick('library', i), `l-library-${i}`, 'bench'),
    facade: (i) => facade.unlinkPatient(pick('facade', i), `l-facade-${i}`, 'bench'),
    raw: async (i) => {
      const { body, etag } = await raw('GET', `Patient/${pick('raw', i)}`);
      body.identifier = (body.identifier ?? []).filter(
        (x: { value?: string }) => x.value !== `l-raw-${i}`,
      );
      await raw('PUT', `Patient/${body.id}`, body, { 'if-match': etag! });
    },
  });
  await run('delete', {
    library: () => storage.deletePatient(created.library.pop()!),
    facade: () => facade.deletePatient(created.facade.pop()!),
    raw: () => raw('DELETE', `Patient/${created.raw.pop()!}`),
  });
  listener.close();
  bigListener.close();

  // bulk import (the CLI, as users run it) vs sequential createPatient
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-'));
  const csv = path.join(dir, 'patients.csv');
  fs.writeFileSync(
    csv,
    [
      'name,sex,birth_date',
      ...Array.from({ length: importRows }, (_, i) => `Import ${serial(i)},F,1990-01-01`),
    ].join('\n') + '\n',
  );
  const importTag = `${tag.system}|i-${tag.code}`;
  let start = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/cli/main.ts', 'import', csv, '--model', 'patient'],
      {
        cwd: packageRoot(),
        env: { ...process.env, FHIR_BASE_URL: baseUrl, FHIR_SCOPE_TAG: importTag },
        stdio: ['ignore', 'ignore', 'ignore'],
      },
    );
    child.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`import exited ${code}`)),
    );
  });
  const importSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const sequentialRows = Math.min(importRows, Number(process.env.BENCH_SEQUENTIAL_ROWS ?? 500));
  const seqStorage = new FhirStorage({
    baseUrl,
    scopeTag: { system: tag.system, code: `s-${tag.code}` },
  });
  start = process.hrtime.bigint();
  for (let i = 0; i < sequentialRows; i++)
    await seqStorage.createPatient({
      name: `Seq ${serial(i)}`,
      sex: 'F',
      birth_date: '1990-01-01',
    });
  const sequentialSeconds = Number(process.hrtime.bigint() - start) / 1e9;

  // HAPI's own ceiling: the same rows as raw single POSTs and as raw transaction Bundles of POSTs
  // (the import's batch size and concurrency), no library, no CLI
  const rawRows = Math.min(importRows, Number(process.env.BENCH_RAW_BULK_ROWS ?? 5000));
  const rawSingleRows = Math.min(rawRows, sequentialRows);
  start = process.hrtime.bigint();
  for (let i = 0; i < rawSingleRows; i++) await raw('POST', 'Patient', rawResource(i));
  const rawSingleSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  const rawBundleSeconds = await rawTransactions(baseUrl, rawRows, rawResource);
  const metadata = (await (await fetch(`${baseUrl}/metadata`)).json()) as {
    software?: { name?: string; version?: string };
  };
  const software =
    `${metadata.software?.name ?? 'FHIR server'} ${metadata.software?.version ?? ''}`.trim();
  await server?.stop();

  // BENCHMARKS.md
  const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
  const lines = [
    '# Benchmarks',
    '',
    `Written by \`npm run bench\` on ${runStarted.toISOString()}.`,
    '',
    `- command: \`${[
      'BENCH_ITERATIONS',
      'BENCH_IMPORT_ROWS',
      'BENCH_SEQUENTIAL_ROWS',
      'BENCH_RAW_BULK_ROWS',
    ]
      .filter((k) => process.env[k])
      .map((k) => `${k}=${process.env[k]}`)
      .join(' ')} npm run bench\`${process.env.FHIR_BASE_URL ? ' (FHIR_BASE_URL set)' : ''}`,
    `- machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at the end`,
    `- versions: Node ${process.version}, healthcare-fhir ${JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')).version}, ${software} at ${server ? 'the bundled server, in memory' : baseUrl}`,
    `- ${iterations} iterations per operation after ${warmup} warm-up, the three sides interleaved (order rotating); latencies in ms; throughput in operations/s (c1: one at a time; c16: 16 at a time, 64 operations, each side alone)`,
    "- round trips: FHIR requests per operation (the facade side also makes one HTTP request to the facade). The raw side is HAPI's own time as a client sees it: where ours equals it, HAPI is the floor.",
    `- links: the unique-link SearchParameters installed first (as \`healthcare-fhir check --install\` does); the check said: ${linkMode.replace(/\s+/g, ' ')}`,
    '',
    '| operation | library median / p95 | facade median / p95 | raw median / p95 | library/raw | facade/raw | facade − library | round trips lib / facade / raw | c1 lib / facade / raw | c16 lib / facade / raw |',
    '|---|---:|---:|---:|---:|---:|---:|---|---|---|',
  ];
  for (const { operation, stats: s } of rows) {
    const c16 = s.library.c16 === undefined ? 'n/a' : sides.map((x) => f(s[x].c16!)).join(' / ');
    lines.push(
      `| ${operation} | ${f(s.library.median)} / ${f(s.library.p95)} | ${f(s.facade.median)} / ${f(s.facade.p95)} | ${f(s.raw.median)} / ${f(s.raw.p95)} | ${(s.library.median / s.raw.median).toFixed(2)} | ${(s.facade.median / s.raw.median).toFixed(2)} | ${(s.facade.median - s.library.median).toFixed(2)} ms | ${sides.map((x) => s[x].trips.toFixed(1)).join(' / ')} | ${sides.map((x) => f(s[x].c1)).join(' / ')} | ${c16} |`,
    );
  }
  const importRate = importRows / importSeconds;
  const sequentialRate = sequentialRows / sequentialSeconds;
  lines.push(
    '',
    '## Bulk import',
    '',
    `| method | rows | seconds | rows/s |`,
    '|---|---:|---:|---:|',
    `| \`healthcare-fhir import\` (transaction Bundles of 250 POSTs, concurrency 4, incl. row validation and process start) | ${importRows} | ${importSeconds.toFixed(1)} | ${importRate.toFixed(0)} |`,
    `| sequential \`createPatient\` | ${sequentialRows} | ${sequentialSeconds.toFixed(1)} | ${sequentialRate.toFixed(0)} |`,
    `| raw: transaction Bundles of ${RAW_BUNDLE_SIZE} POSTs, concurrency 4 (HAPI alone) | ${rawRows} | ${rawBundleSeconds.toFixed(1)} | ${(rawRows / rawBundleSeconds).toFixed(0)} |`,
    `| raw: one POST at a time (HAPI alone) | ${rawSingleRows} | ${rawSingleSeconds.toFixed(1)} | ${(rawSingleRows / rawSingleSeconds).toFixed(0)} |`,
    '',
    `Import is **${(importRate / sequentialRate).toFixed(1)}×** the rate of sequential creates; ` +
      `on the same server in the same run, HAPI's own transaction Bundles are ` +
      `**${(rawRows / rawBundleSeconds / (rawSingleRows / rawSingleSeconds)).toFixed(1)}×** its single POSTs (the ceiling of any import through FHIR writes).`,
    '',
  );
  // this run's tables replace the old ones; the sections from HAND_KEPT on (written by hand and
  // from the other benches' output) stay as they were
  const benchmarksFile = path.join(packageRoot(), 'BENCHMARKS.md');
  const before = fs.existsSync(benchmarksFile) ? fs.readFileSync(benchmarksFile, 'utf8') : '';
  const kept = before.includes(HAND_KEPT)
    ? before.slice(before.indexOf(HAND_KEPT))
    : `${HAND_KEPT}\n`;
  fs.writeFileSync(benchmarksFile, `${lines.join('\n')}\n${kept}`);
  console.error('wrote BENCHMARKS.md');
  process.exit(0);
}

await main();
