/**
 * `healthcare-fhir import <file> --model patient|provider [--link-column source=column]…`
 *
 * 1. reads the file once, validating each row (the model's fields, link
 *    values): bad rows are never written, and are listed by line number at
 *    the end; the good rows go in batches (`--batch-size`, default 250) to
 *    `--concurrency` writers (default 4), with progress on stderr: per batch,
 *    one search for the rows earlier runs imported (below), sent as soon as
 *    the batch is read, up to `--concurrency` batches ahead of the writers, so
 *    that a writer freed finds its next batch looked up (a server far away
 *    costs no round trip per batch); then one FHIR `transaction` Bundle of
 *    POSTs of the others; a row repeated in the file is written once, at its
 *    first line;
 * 2. links each row's source ids from its link columns (the model's link
 *    store, as `linkPatient`, so the one-patient-per-pair guarantee holds);
 * 3. prints a summary.
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
import fs from 'node:fs';
import { setImmediate } from 'node:timers/promises';
import { validateRecordInput, validateSourcePair } from '../api/validation.js';
import { ValidationError } from '../api/errors.js';
import type { ModelSpec } from '../api/models.js';
import type { BulkImport, ImportResult, LinkStore } from '../api/record-store.js';
import { waitingOutThrottle } from '../transport/retry.js';
import { rowHash } from '../backends/fhir/import-rows.js';
import { CliError, modelOption, parseArgs, positiveInt, storageFromEnv } from './options.js';
import { Progress, type TextOut, type Total } from './progress.js';
import { readRows, type FileRow } from './records-file.js';
import { errorMessage } from '../shared/error-message.js';
import { bounded, readAhead } from '../shared/async-iteration.js';

interface LinkColumn {
  source: string;
  column: string;
}

/** A valid row: its record's values and its links. */
interface CheckedRow {
  line: number;
  data: Record<string, unknown>;
  links: [source: string, sourceId: string][];
}

/** A row to import: identical rows share its content hash. */
interface GoodRow extends CheckedRow {
  hash: string;
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
): CheckedRow | { problem: string } {
  if ('unreadable' in row.data) return { problem: String(row.data.unreadable) };
  const data = { ...row.data };
  const links: CheckedRow['links'] = [];
  try {
    for (const { source, column } of columns) {
      const value = data[column];
      delete data[column];
      if (value === undefined || value === null) continue;
      // an NDJSON number is its digits; an object, array or boolean is refused (validateSourcePair)
      const id = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
      const [sourceId, sourceName] = validateSourcePair(id, source);
      links.push([sourceName, sourceId]);
    }
    const values = validateRecordInput(model, data, 'create');
    return { line: row.line, data: values, links };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return {
      problem: error.issues.map((i) => `${i.field ?? 'row'} ${i.message}`).join('; '),
    };
  }
}

/** What a run needs: the file, the model's store (its bulk writes) and links, the link columns, the batching. */
interface ImportRun {
  file: string;
  model: ModelSpec;
  imports: BulkImport;
  /** The model's links (a linkable model only). */
  links?: LinkStore;
  columns: LinkColumn[];
  batchSize: number;
  concurrency: number;
}

/** The run the arguments and the environment describe. */
function importRun(args: string[], env: NodeJS.ProcessEnv): ImportRun {
  const parsed = parseArgs(args, ['model', 'link-column', 'batch-size', 'concurrency']);
  if (parsed.positionals.length !== 1) throw new CliError('give exactly one file to import');
  const storage = storageFromEnv(env);
  const model = modelOption(parsed, storage);
  const columns = linkColumns(parsed.options.get('link-column') ?? []);
  const links = storage.links[model.name];
  if (columns.length && !links) throw new CliError(`--link-column: ${model.name}s have no links`);
  const batchSize = positiveInt(parsed, 'batch-size', 250);
  const concurrency = positiveInt(parsed, 'concurrency', 4);
  const imports = storage.stores[model.name]?.imports;
  if (!imports) throw new CliError('import writes to a FHIR server');
  return { file: parsed.positionals[0]!, model, imports, links, columns, batchSize, concurrency };
}

/** What a run did, row by row. */
interface Tally {
  /** Rows read from the file, and how many of its bytes. */
  read: number;
  readBytes: number;
  /** The whole file is read: `read` is its number of rows. */
  readAll: boolean;
  written: number;
  present: number;
  /** Rows equal to an earlier row of the file: that row's record is theirs. */
  repeated: number;
  invalid: number;
  failed: number;
  linked: number;
  /** Why rows were invalid or failed, by line: the first 50 of each. */
  invalidRows: string[];
  failures: string[];
}

const LISTED = 50;

/**
 * 1. The valid rows of the file in order, in batches; a row whose hash came
 * before is counted in `tally.repeated` instead, an invalid row in
 * `tally.invalid`.
 */
async function* batches(
  run: ImportRun,
  rows: AsyncIterable<FileRow>,
  tally: Tally,
): AsyncGenerator<GoodRow[]> {
  let batch: GoodRow[] = [];
  const seen = new Set<string>();
  for await (const row of rows) {
    tally.read++;
    tally.readBytes = row.end;
    const checked = checkRow(run.model, row, run.columns);
    if ('problem' in checked) {
      if (tally.invalid++ < LISTED) tally.invalidRows.push(`line ${row.line}: ${checked.problem}`);
      continue;
    }
    const hash = rowHash(run.model, checked.data, checked.links);
    if (seen.has(hash)) {
      tally.repeated++;
      continue;
    }
    seen.add(hash);
    batch.push({ ...checked, hash });
    if (batch.length === run.batchSize) {
      yield batch;
      batch = [];
    }
  }
  tally.readAll = true;
  if (batch.length) yield batch;
}

/** A batch with what earlier runs wrote of its rows (row hash → record id). */
interface LookedUp {
  rows: GoodRow[];
  earlier: Promise<ReadonlyMap<string, string>>;
}

/**
 * Each batch with what earlier runs wrote of its rows: those `legacy` holds
 * (imports before the identifier), and one search for the identifiers of the
 * others, sent as the batch is taken (the first once `legacy` is known, the
 * file being read meanwhile).
 */
async function* lookedUp(
  run: ImportRun,
  items: AsyncIterable<GoodRow[]>,
  legacy: Promise<ReadonlyMap<string, string>>,
): AsyncGenerator<LookedUp> {
  for await (const rows of items) {
    const earlier = legacy.then(async (imported) => {
      const found = await run.imports.importedAmong(
        rows.filter((row) => !imported.has(row.hash)).map((row) => row.hash),
      );
      for (const { hash } of rows) if (imported.has(hash)) found.set(hash, imported.get(hash)!);
      return found;
    });
    // awaited by importBatch, which fails the batch's rows when the search failed
    earlier.catch(() => undefined);
    // the rows of the file already read are parsed without a turn of the event loop: one is
    // given here, so that this search (the writers' transactions too) leaves before the next batch is read
    await setImmediate();
    yield { rows, earlier };
  }
}

/** 2. Links a written row's source ids; a pair already on another record fails the row. */
async function linkRow(links: LinkStore, row: GoodRow, id: string, tally: Tally): Promise<void> {
  for (const [source, sourceId] of row.links) {
    // a link refused by a throttling server wrote nothing: it waits its turn like the batches
    if (await waitingOutThrottle(() => links.link(id, sourceId, source))) tally.linked++;
    else if ((await waitingOutThrottle(() => links.getLinked(sourceId, source)))?.id !== id) {
      if (tally.failed++ < LISTED)
        tally.failures.push(`line ${row.line}: ${source} id is already linked to another patient`);
    }
  }
}

/** 1. Writes the rows of one batch earlier runs did not, then links its rows. */
async function importBatch(run: ImportRun, batch: LookedUp, tally: Tally): Promise<void> {
  const { rows } = batch;
  let results: ImportResult[];
  try {
    results = await run.imports.importRows(
      rows.map((row) => ({ data: row.data, hash: row.hash })),
      await batch.earlier,
    );
  } catch (error) {
    const failed = errorMessage(error);
    results = rows.map(() => ({ failed }));
  }
  for (const [i, row] of rows.entries()) {
    const result = results[i]!;
    if ('failed' in result) {
      if (tally.failed++ < LISTED) tally.failures.push(`line ${row.line}: ${result.failed}`);
      continue;
    }
    if (result.present) tally.present++;
    else tally.written++;
    if (run.links) await linkRow(run.links, row, result.id, tally);
  }
}

/** The file's rows: counted once it is read, estimated from the bytes read until then. */
function fileRows(tally: Tally, fileBytes: number): Total {
  if (tally.readAll || !tally.readBytes) return { rows: tally.read, estimated: !tally.readAll };
  return { rows: Math.round((tally.read * fileBytes) / tally.readBytes), estimated: true };
}

/** Lists on `err` the first of `problems` and how many more there are. */
function list(err: TextOut, kind: string, problems: string[], count: number): void {
  for (const problem of problems) err.write(`${kind} ${problem}\n`);
  if (count > problems.length) err.write(`… and ${count - problems.length} more ${kind} rows\n`);
}

/** Runs the command; `env` configures the storage, `io` receives the summary (stdout) and the rest (stderr). */
export async function runImport(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: { stdout: TextOut; stderr: TextOut } = process,
): Promise<number> {
  const progress = new Progress(io.stderr);
  const run = importRun(args, env);
  const rows = readRows(run.file);
  const fileBytes = fs.statSync(run.file).size;
  const err = io.stderr;
  // records imports before the import-row identifier wrote (none on most servers)
  const legacy = run.imports.legacyImportedRows().then((imported) => {
    if (imported.size)
      err.write(`${imported.size} records an earlier import wrote found on the server\n`);
    return imported;
  });
  // awaited below; a file without a valid row never awaits it before
  legacy.catch(() => undefined);
  const tally: Tally = {
    read: 0,
    readBytes: 0,
    readAll: false,
    written: 0,
    present: 0,
    repeated: 0,
    invalid: 0,
    failed: 0,
    linked: 0,
    invalidRows: [],
    failures: [],
  };
  const done = () => tally.written + tally.present + tally.repeated + tally.invalid + tally.failed;
  const looked = readAhead(lookedUp(run, batches(run, rows, tally), legacy), run.concurrency);
  await bounded(looked, run.concurrency, async (batch) => {
    await importBatch(run, batch, tally);
    progress.update(done(), fileRows(tally, fileBytes));
  });
  await legacy;
  progress.finish(done());
  list(err, 'invalid', tally.invalidRows, tally.invalid);
  list(err, 'failed', tally.failures, tally.failed);
  io.stdout.write(
    `${JSON.stringify({
      written: tally.written,
      skipped: { already_present: tally.present, repeated_in_file: tally.repeated },
      invalid: tally.invalid,
      failed: tally.failed,
      links_created: tally.linked,
    })}\n`,
  );
  return tally.invalid || tally.failed ? 1 : 0;
}
