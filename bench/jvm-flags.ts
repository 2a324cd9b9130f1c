/**
 * `npm run bench:jvm -- [rows] [rounds]`: the bundled server's JVM flag sets
 * side by side. For each set, in turn (`rounds` times, the order rotated):
 * start the bundled HAPI (`tuned`, H2 in memory, a free port) with those
 * flags (FHIR_JAVA_OPTS; on FHIR_PORT, else a free port), time until it answers, then HAPI's own transaction
 * rate for `rows` patients twice (bench/raw-transactions.ts): cold (the first
 * writes after start) and warm (the next ones), and stop it. One server at a
 * time. Prints a Markdown table of medians.
 *
 *   npm run bench:jvm -- 5000 2
 *   BENCH_JVM_ONLY=start,bulk …   only these flag sets
 */
import { startLocalFhirServer } from '../fhir-server/launcher/index.js';
import { rawPatient, rawTransactions } from './raw-transactions.js';

const FLAG_SETS: Record<string, string> = {
  start: '-Xms256m -Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss1m',
  'c2-serial-1g': '-Xms256m -Xmx1g -XX:+UseSerialGC -Xss1m',
  'c1-parallel-1g': '-Xms256m -Xmx1g -XX:TieredStopAtLevel=1 -XX:+UseParallelGC -Xss1m',
  'c2-parallel-1g': '-Xms256m -Xmx1g -XX:+UseParallelGC -Xss1m',
  bulk: '-Xms512m -Xmx2g -XX:+UseParallelGC -Xss1m',
};

const rows = Number(process.argv[2] ?? 5000);
const rounds = Number(process.argv[3] ?? 1);
const only = process.env.BENCH_JVM_ONLY?.split(',');
const names = Object.keys(FLAG_SETS).filter((n) => !only || only.includes(n));

interface Figures {
  startS: number;
  cold: number;
  warm: number;
}

async function measure(name: string): Promise<Figures> {
  process.env.FHIR_JAVA_OPTS = FLAG_SETS[name];
  const started = performance.now();
  const port = process.env.FHIR_PORT ? Number(process.env.FHIR_PORT) : 0;
  const server = await startLocalFhirServer({ database: 'h2-memory', port });
  const startS = (performance.now() - started) / 1000;
  try {
    const cold = rows / (await rawTransactions(server.baseUrl, rows, rawPatient('Jvm', 'Cold')));
    const warm = rows / (await rawTransactions(server.baseUrl, rows, rawPatient('Jvm', 'Warm')));
    return { startS, cold, warm };
  } finally {
    await server.stop();
  }
}

const results = new Map<string, Figures[]>(names.map((n) => [n, []]));
for (let round = 0; round < rounds; round++)
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length]!;
    const figures = await measure(name);
    results.get(name)!.push(figures);
    console.error(
      `${name}: ready in ${figures.startS.toFixed(1)} s, ${figures.cold.toFixed(0)} rows/s cold, ${figures.warm.toFixed(0)} warm`,
    );
  }
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`\n${rows} rows per rate, ${rounds} round(s), medians\n`);
console.log('| flags | JVM options | ready | rows/s cold | rows/s warm |');
console.log('|---|---|---:|---:|---:|');
for (const [name, figures] of results)
  console.log(
    `| ${name} | \`${FLAG_SETS[name]}\` | ${median(figures.map((f) => f.startS)).toFixed(1)} s | ${median(figures.map((f) => f.cold)).toFixed(0)} | ${median(figures.map((f) => f.warm)).toFixed(0)} |`,
  );
