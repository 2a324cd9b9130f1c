/**
 * `healthcare-fhir import <file> --model patient|provider [--link-column source=column]…`
 *
 * 1. reads the whole file once and validates every row (the model's fields,
 *    link values), listing bad rows by line number; bad rows are never written;
 * 2. reads the file again in batches (`--batch-size`, default 250) at bounded
 *    concurrency (`--concurrency`, default 4), with progress on stderr: per
 *    batch, one search for the rows earlier runs imported (below), then one
 *    FHIR `transaction` Bundle of POSTs of the others;
 * 3. links each row's source ids from its link columns (the library's
 *    `linkPatient`, so the one-patient-per-pair guarantee holds);
 * 4. prints a summary.
 *
 * Resumable without duplicates: each row has a content hash (SHA-256 over
 * the model, fields and link values; identical rows are one record) that the
 * resource written for it keeps as an identifier
 * (backends/fhir/import-rows.ts). Each batch first searches for its rows'
 * identifiers (one OR-search, in scope): rows found are skipped (their
 * record is linked all the same), the others written. So the cost of a run
 * follows its file, not what the server holds, and a run after an
 * interruption, an edit of the file, another `--batch-size` or a rename
 * writes only the rows not there yet. Records that imports before the
 * identifier wrote (a tag and an extension) are found by one count search
 * and, only when there are some, read once. Two runs at the same moment may
 * both write a row.
 */
import { validateRecordInput, validateSourcePair } from '../api/validation.js';
import { ValidationError } from '../api/errors.js';
import type { ModelSpec } from '../api/models.js';
import { FhirRecordStore, type ImportResult } from '../backends/fhir/record-store.js';
import { waitingOutThrottle } from '../transport/retry.js';
import { rowHash } from '../backends/fhir/import-rows.js';
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
  /** The row's content hash: identical rows share it. */
  hash: string;
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
    return { line: row.line, hash: rowHash(model, values, links), data: values, links };
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
  const store = storage.store(model.name);
  if (!(store instanceof FhirRecordStore)) throw new CliError('import writes to a FHIR server');
  const err = io.stderr;

  // 1. validate every row
  const invalid: string[] = [];
  const firstLineOf = new Map<string, number>();
  let duplicates = 0;
  for await (const row of readRows(file)) {
    const checked = checkRow(model, row, columns);
    if ('problem' in checked) invalid.push(`line ${row.line}: ${checked.problem}`);
    else if (firstLineOf.has(checked.hash)) duplicates++;
    else firstLineOf.set(checked.hash, row.line);
  }
  for (const problem of invalid.slice(0, 50)) err.write(`invalid ${problem}\n`);
  if (invalid.length > 50) err.write(`… and ${invalid.length - 50} more invalid rows\n`);
  const total = firstLineOf.size;
  err.write(
    `${total} rows to write, ${invalid.length} invalid (not written), ${duplicates} repeated in the file\n`,
  );

  // records imports before the import-row identifier wrote (none on most servers)
  const imported = await store.legacyImportedRows();
  if (imported.size)
    err.write(`${imported.size} records an earlier import wrote found on the server\n`);

  // 2. look up and write, 3. link
  const counts = { written: 0, present: 0, failed: 0, linked: 0 };
  const failures: string[] = [];
  const progress = new Progress(total, err);
  /** The rows in file order, in batches of rows to write and batches of rows already there. */
  async function* batches(): AsyncGenerator<{ rows: GoodRow[]; present: boolean }> {
    const toWrite: GoodRow[] = [];
    const alreadyThere: GoodRow[] = [];
    for await (const row of readRows(file)) {
      const checked = checkRow(model, row, columns);
      if ('problem' in checked || firstLineOf.get(checked.hash) !== row.line) continue;
      const present = imported.has(checked.hash);
      const batch = present ? alreadyThere : toWrite;
      batch.push(checked);
      if (batch.length === batchSize) yield { rows: batch.splice(0), present };
    }
    if (toWrite.length) yield { rows: toWrite, present: false };
    if (alreadyThere.length) yield { rows: alreadyThere, present: true };
  }
  await bounded(batches(), concurrency, async ({ rows: batch, present }) => {
    let results: ImportResult[];
    try {
      results = present
        ? batch.map((row) => ({ id: imported.get(row.hash)! }))
        : await store.importRows(batch.map((row) => ({ data: row.data, hash: row.hash })));
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
      if (present || result.present) counts.present++;
      else counts.written++;
      for (const [source, sourceId] of row.links) {
        // a link refused by a throttling server wrote nothing: it waits its turn like the batches
        if (await waitingOutThrottle(() => storage.linkPatient(result.id, sourceId, source)))
          counts.linked++;
        else if (
          (await waitingOutThrottle(() => storage.getPatient(sourceId, source)))?.id !== result.id
        ) {
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
