/**
 * `npm run bench:h2-file -- [rows] [rounds]`: how the bundled server's H2
 * file grows as patients are written (fhir-server H2FileHousekeeping). Starts
 * the bundled HAPI on H2 in a fresh data dir (a free port; FHIR_JAVA_PROFILE
 * as set), then `rounds` times: `rows` patients in raw transaction Bundles
 * (bench/raw-transactions.ts), the file's size right after (its high-water
 * mark under load), and its size at rest: after H2's retention time (45 s,
 * before which no chunk is reused) and one more write, when H2 frees the
 * chunks left dead and cuts the file's free end; and the share of the
 * server's CPU time during the writes that the housekeeping thread took
 * (Linux: /proc). Prints a Markdown table.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalFhirServer } from '../fhir-server/launcher/index.js';
import { rawPatient, rawTransactions } from './raw-transactions.js';

const rows = Number(process.argv[2] ?? 80_000);
const rounds = Number(process.argv[3] ?? 3);
/** H2's default retention time, and a margin. */
const RETENTION_WAIT_MS = 50_000;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-bench-h2-file-'));
const fileBytes = () => fs.statSync(path.join(dataDir, 'fhir-r4.mv.db')).size;
const gb = (bytes: number) => (bytes / 1e9).toFixed(2);

/** CPU clock ticks (user + system) of /proc/<pid>/stat or …/task/<tid>/stat. */
const ticks = (statFile: string) =>
  fs.readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).map(Number).reduce((a, b) => a + b); // prettier-ignore

/** The java process's CPU ticks, and its housekeeping thread's (named in H2FileHousekeeping); undefined off Linux. */
function cpuTicks(pid: number | undefined): { server: number; housekeeping: number } | undefined {
  const proc = `/proc/${pid}`;
  if (pid === undefined || !fs.existsSync(proc)) return undefined;
  const thread = fs
    .readdirSync(`${proc}/task`)
    .find((tid) =>
      fs.readFileSync(`${proc}/task/${tid}/comm`, 'utf8').startsWith('h2-file-housek'),
    );
  return {
    server: ticks(`${proc}/stat`),
    housekeeping: thread ? ticks(`${proc}/task/${thread}/stat`) : 0,
  };
}

const server = await startLocalFhirServer({ database: 'h2-file', dataDir, port: 0 });
const lines = [
  '| patients written | file under load (GB) | file at rest (GB) | at rest, KB per patient | rows/s | housekeeping, % of server CPU |',
];
lines.push('|---:|---:|---:|---:|---:|---:|');
try {
  for (let round = 0; round < rounds; round++) {
    const before = cpuTicks(server.pid);
    const seconds = await rawTransactions(server.baseUrl, rows, rawPatient('File', `R${round}`));
    const after = cpuTicks(server.pid);
    const underLoad = fileBytes();
    await sleep(RETENTION_WAIT_MS);
    await rawTransactions(server.baseUrl, 1, rawPatient('File', 'R-1'));
    await sleep(2000);
    const atRest = fileBytes();
    const written = (round + 1) * rows;
    const housekeeping =
      before && after
        ? ((100 * (after.housekeeping - before.housekeeping)) / (after.server - before.server)).toFixed(1) // prettier-ignore
        : '?';
    lines.push(
      `| ${written} | ${gb(underLoad)} | ${gb(atRest)} | ${(atRest / written / 1000).toFixed(1)} | ${(rows / seconds).toFixed(0)} | ${housekeeping} |`,
    );
    console.error(lines.at(-1));
  }
} finally {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
