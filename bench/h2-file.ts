/**
 * `npm run bench:h2-file -- [rows] [rounds]`: how the bundled server's H2
 * file grows as patients are written (fhir-server H2FileHousekeeping). Starts
 * the bundled HAPI on H2 in a fresh data dir (a free port; FHIR_JAVA_PROFILE
 * as set), then `rounds` times: `rows` patients in raw transaction Bundles
 * (bench/raw-transactions.ts), the file's size right after (its high-water
 * mark under load), and its size at rest: after H2's retention time (45 s,
 * before which no chunk is reused) and one more write, when H2 frees the
 * chunks left dead and cuts the file's free end. Prints a Markdown table.
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

const server = await startLocalFhirServer({ database: 'h2-file', dataDir, port: 0 });
const lines = [
  '| patients written | file under load (GB) | file at rest (GB) | at rest, KB per patient | rows/s |',
];
lines.push('|---:|---:|---:|---:|---:|');
try {
  for (let round = 0; round < rounds; round++) {
    const seconds = await rawTransactions(server.baseUrl, rows, rawPatient('File', `R${round}`));
    const underLoad = fileBytes();
    await sleep(RETENTION_WAIT_MS);
    await rawTransactions(server.baseUrl, 1, rawPatient('File', 'R-1'));
    await sleep(2000);
    const atRest = fileBytes();
    const written = (round + 1) * rows;
    lines.push(
      `| ${written} | ${gb(underLoad)} | ${gb(atRest)} | ${(atRest / written / 1000).toFixed(1)} | ${(rows / seconds).toFixed(0)} |`,
    );
    console.error(lines.at(-1));
  }
} finally {
  await server.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
console.log(lines.join('\n'));
