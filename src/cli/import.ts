/**
 * `healthcare-fhir import <file> --model patient|provider [--link-column source=column]…`
 *
 * 1. reads the whole file once and validates every row (the model's fields,
 *    link values), listing bad rows by line number; bad rows are never written;
 * 2. reads it again and writes the good rows in FHIR `transaction` Bundles
 *    of POSTs (`--batch-size`, default 250) at bounded concurrency
 *    (`--concurrency`, default 4), with progress on stderr;
 * 3. links each row's source ids from its link columns (the library's
 *    `linkPatient`, so the one-patient-per-pair guarantee holds);
 * 4. prints a summary.
 *
 * Resumable without duplicates: each row has a content key (SHA-256 over the
 * model, fields and links; two identical rows are one record), the batches
 * are the file's good rows in order, and every resource of a batch carries the
 * tag `urn:healthcare-fhir:import-batch|<hash of the model and the batch's
 * row keys>`. Before writing, one `_summary=count` search per group of
 * batches asks whether any of their tags exists: none (a fresh import) →
 * written with no other request; else each batch of the group fetches its
 * tagged resources and writes only the rows no resource matches by content
 * (record-store.ts `putNew`). So running the same command (same file, same
 * `--batch-size`) again after an interruption writes what is missing and
 * skips the rest.
 */
import { createHash } from 'node:crypto';
import { validateRecordInput, validateSourcePair } from '../api/validation.js';
import { ValidationError } from '../api/errors.js';
import type { ModelSpec } from '../api/models.js';
import { FhirRecordStore, type ImportResult } from '../backends/fhir/record-store.js';
import type { FhirStorage } from '../backends/fhir/index.js';
import { CliError, modelOption, parseArgs, positiveInt, storageFromEnv } from './options.js';
import { Progress, type TextOut } from './progress.js';
import { readRows, type FileRow } from './records-file.js';

interface LinkColumn {
  source: string;
  column: string;
}

interface GoodRow {
  line: number;
  /** The row's content key: identical rows share it. */
  key: string;
  data: Record<string, unknown>;
  links: [source: string, sourceId: string][];
}

function linkColumns(values: readonly string[]): LinkColumn[] {
  return values.map((value) => {
    const eq = value.indexOf('=');
    if (eq <= 0 || eq === value.length - 1)
      throw new CliError(`--link-column takes source=column, not ${JSON.stringify(value)}`);
    return { source: value.slice(0, eq), column: value.slice(eq + 1) };
  });
}

/** Batches whose tags one count search asks about (about 1.6 KB of URL at 20). */
const BATCHES_PER_COUNT = 20;

/** The row's content key (40 hex digits of SHA-256 over the model, fields and links). */
function rowKey(model: ModelSpec, data: Record<string, unknown>, links: GoodRow['links']): string {
  const fields = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256').update(JSON.stringify([model.name, fields, links]));
  return hash.digest('hex').slice(0, 40);
}

/** The batch's tag code: 40 hex digits of SHA-256 over the model and its rows' keys, in order. */
function batchTag(model: ModelSpec, rows: readonly GoodRow[]): string {
  const hash = createHash('sha256').update(JSON.stringify([model.name, rows.map((r) => r.key)]));
  return hash.digest('hex').slice(0, 40);
}

/** The row ready to write, or why not (never the row's data: it holds patient data). */
function checkRow(
  model: ModelSpec,
  row: FileRow,
  columns: readonly LinkColumn[],
): GoodRow | { problem: string } {
  if ('unreadable' in row.data) return { problem: String(row.data.unreadable) };
  const data = { ...row.data };
  const links: GoodRow['links'] = [];
  try {
    for (const { source, column } of columns) {
      const value = data[column];
      delete data[column];
      if (value === undefined || value === null) continue;
      const [sourceId, sourceName] = validateSourcePair(String(value), source);
      links.push([sourceName, sourceId]);
    }
    const values = validateRecordInput(model, data, 'create');
    return { line: row.line, key: rowKey(model, values, links), data: values, links };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return {
      problem: error.issues.map((i) => `${i.field ?? 'row'} ${i.message}`).join('; '),
    };
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function bounded<T>(
  items: AsyncIterable<T>,
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  const running = new Set<Promise<void>>();
  for await (const item of items) {
    const task: Promise<void> = work(item).finally(() => running.delete(task));
    running.add(task);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
}

/** Runs the command; `env` configures the storage, `io` receives the summary (stdout) and the rest (stderr). */
export async function runImport(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: { stdout: TextOut; stderr: TextOut } = process,
): Promise<number> {
  const parsed = parseArgs(args, ['model', 'link-column', 'batch-size', 'concurrency']);
  if (parsed.positionals.length !== 1) throw new CliError('give exactly one file to import');
  const file = parsed.positionals[0]!;
  const storage: FhirStorage = storageFromEnv(env);
  const model = modelOption(parsed, storage);
  const columns = linkColumns(parsed.options.get('link-column') ?? []);
  if (columns.length && !model.linkable)
    throw new CliError(`--link-column: ${model.name}s have no links`);
  const batchSize = positiveInt(parsed, 'batch-size', 250);
  const concurrency = positiveInt(parsed, 'concurrency', 4);
  const anyStore = storage.store(model.name);
  if (!(anyStore instanceof FhirRecordStore)) throw new CliError('import writes to a FHIR server');
  const store: FhirRecordStore = anyStore;
  const err = io.stderr;

  // 1. validate every row
  const invalid: string[] = [];
  const firstLineOf = new Map<string, number>();
  let duplicates = 0;
  for await (const row of readRows(file)) {
    const checked = checkRow(model, row, columns);
    if ('problem' in checked) invalid.push(`line ${row.line}: ${checked.problem}`);
    else if (firstLineOf.has(checked.key)) duplicates++;
    else firstLineOf.set(checked.key, row.line);
  }
  for (const problem of invalid.slice(0, 50)) err.write(`invalid ${problem}\n`);
  if (invalid.length > 50) err.write(`… and ${invalid.length - 50} more invalid rows\n`);
  const total = firstLineOf.size;
  err.write(
    `${total} rows to write, ${invalid.length} invalid (not written), ${duplicates} repeated in the file\n`,
  );

  // 2. write, 3. link
  const counts = { written: 0, present: 0, failed: 0, linked: 0 };
  const failures: string[] = [];
  const progress = new Progress(total, err);
  async function* batches(): AsyncGenerator<GoodRow[]> {
    let batch: GoodRow[] = [];
    for await (const row of readRows(file)) {
      const checked = checkRow(model, row, columns);
      if ('problem' in checked || firstLineOf.get(checked.key) !== row.line) continue;
      batch.push(checked);
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  /** The batches, each knowing whether an earlier run may have written some of it. */
  async function* plannedBatches(): AsyncGenerator<{
    rows: GoodRow[];
    tag: string;
    mayExist: boolean;
  }> {
    let group: { rows: GoodRow[]; tag: string }[] = [];
    async function* planGroup() {
      const present = await store.countImportBatches(group.map((b) => b.tag));
      for (const batch of group) yield { ...batch, mayExist: present !== 0 };
      group = [];
    }
    for await (const rows of batches()) {
      group.push({ rows, tag: batchTag(model, rows) });
      if (group.length === BATCHES_PER_COUNT) yield* planGroup();
    }
    if (group.length) yield* planGroup();
  }
  await bounded(plannedBatches(), concurrency, async ({ rows: batch, tag, mayExist }) => {
    let results: ImportResult[];
    try {
      results = await store.putNew(
        batch.map((row) => ({ data: row.data, sourceIds: row.links.map(([, id]) => id) })),
        tag,
        mayExist,
      );
    } catch (error) {
      const failed = error instanceof Error ? error.message : String(error);
      results = batch.map(() => ({ failed }));
    }
    for (const [i, row] of batch.entries()) {
      const result = results[i]!;
      if ('failed' in result) {
        counts.failed++;
        failures.push(`line ${row.line}: ${result.failed}`);
        continue;
      }
      if (result.written) counts.written++;
      else counts.present++;
      for (const [source, sourceId] of row.links) {
        if (await storage.linkPatient(result.id, sourceId, source)) counts.linked++;
        else if ((await storage.getPatient(sourceId, source))?.id !== result.id) {
          failures.push(`line ${row.line}: ${source} id is already linked to another patient`);
          counts.failed++;
        }
      }
    }
    progress.update(counts.written + counts.present + counts.failed);
  });
  progress.finish(counts.written + counts.present + counts.failed);

  for (const failure of failures.slice(0, 50)) err.write(`failed ${failure}\n`);
  io.stdout.write(
    `${JSON.stringify({
      written: counts.written,
      skipped: { already_present: counts.present, repeated_in_file: duplicates },
      invalid: invalid.length,
      failed: counts.failed,
      links_created: counts.linked,
    })}\n`,
  );
  return invalid.length || counts.failed ? 1 : 0;
}
