/**
 * `healthcare-fhir import <file> --model patient|provider [--link-column source=column]…`
 *
 * 1. reads the whole file once and validates every row (the model's fields,
 *    link values), listing bad rows by line number; bad rows are never written;
 * 2. beside it (the check starts once the first batch is written, so that
 *    the server is not idle while the file is checked), reads the file again
 *    in batches (`--batch-size`, default 250) at bounded concurrency
 *    (`--concurrency`, default 4), with progress on stderr once the check has
 *    counted the rows: per batch, one search for the rows earlier runs
 *    imported (below; sent while the batch before it is written, so that a
 *    server far away costs no round trip per batch), then one FHIR
 *    `transaction` Bundle of POSTs of the others; a row repeated in the file
 *    is written once, at its first line;
 * 3. links each row's source ids from its link columns (the model's link
 *    store, as `linkPatient`, so the one-patient-per-pair guarantee holds);
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
import type { BulkImport, ImportResult, LinkStore } from '../api/record-store.js';
import { waitingOutThrottle } from '../transport/retry.js';
import { rowHash } from '../backends/fhir/import-rows.js';
import { CliError, modelOption, parseArgs, positiveInt, storageFromEnv } from './options.js';
import { Progress, type TextOut } from './progress.js';
import { readRows, type FileRow } from './records-file.js';
import { errorMessage } from '../shared/error-message.js';

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

/** The file's rows checked: the problems of invalid rows, and how many are valid. */
interface CheckedFile {
  invalid: string[];
  valid: number;
}

/** 1. Reads the whole file once, validating every row; lists the invalid rows on `err`. */
async function checkFile(run: ImportRun, err: TextOut): Promise<CheckedFile> {
  const invalid: string[] = [];
  let valid = 0;
  for await (const row of readRows(run.file)) {
    const checked = checkRow(run.model, row, run.columns);
    if ('problem' in checked) invalid.push(`line ${row.line}: ${checked.problem}`);
    else valid++;
  }
  for (const problem of invalid.slice(0, 50)) err.write(`invalid ${problem}\n`);
  if (invalid.length > 50) err.write(`… and ${invalid.length - 50} more invalid rows\n`);
  err.write(`${valid} valid rows, ${invalid.length} invalid (not written)\n`);
  return { invalid, valid };
}

/** A batch of valid rows; `legacy`: all of them found among what imports before the identifier wrote. */
interface Batch {
  rows: GoodRow[];
  legacy: boolean;
}

/**
 * The valid rows in file order, in batches of rows to look up and write and
 * batches of rows `legacy` holds (awaited at the first row, so that the file
 * is read while that search runs); a row whose hash came before is counted
 * in `tally.repeated` instead.
 */
async function* batches(
  run: ImportRun,
  legacy: Promise<ReadonlyMap<string, string>>,
  tally: Tally,
): AsyncGenerator<Batch> {
  const toWrite: GoodRow[] = [];
  const alreadyThere: GoodRow[] = [];
  const seen = new Set<string>();
  let imported: ReadonlyMap<string, string> | undefined;
  for await (const row of readRows(run.file)) {
    const checked = checkRow(run.model, row, run.columns);
    if ('problem' in checked) continue;
    const hash = rowHash(run.model, checked.data, checked.links);
    if (seen.has(hash)) {
      tally.repeated++;
      continue;
    }
    seen.add(hash);
    imported ??= await legacy;
    const present = imported.has(hash);
    const batch = present ? alreadyThere : toWrite;
    batch.push({ ...checked, hash });
    if (batch.length === run.batchSize) yield { rows: batch.splice(0), legacy: present };
  }
  if (toWrite.length) yield { rows: toWrite, legacy: false };
  if (alreadyThere.length) yield { rows: alreadyThere, legacy: true };
}

/** A batch with the search for what earlier runs wrote of its rows (row hash → record id). */
type LookedUp = Batch & { earlier: Promise<ReadonlyMap<string, string>> };

/**
 * Each batch with what earlier runs wrote of its rows: the legacy records
 * for a legacy batch, else one search for its row identifiers, sent when the
 * batch before it is taken, so that a writer freed finds its next batch
 * looked up instead of waiting for that search.
 */
async function* lookedUpAhead(
  run: ImportRun,
  items: AsyncIterable<Batch>,
  legacy: Promise<ReadonlyMap<string, string>>,
): AsyncGenerator<LookedUp> {
  let previous: LookedUp | undefined;
  for await (const batch of items) {
    const earlier = batch.legacy
      ? legacy
      : run.imports.importedAmong(batch.rows.map((row) => row.hash));
    // awaited by importBatch, which fails the batch's rows when the search failed
    earlier.catch(() => undefined);
    if (previous) yield previous;
    previous = { ...batch, earlier };
  }
  if (previous) yield previous;
}

/** What a run did, row by row. */
interface Tally {
  written: number;
  present: number;
  /** Rows equal to an earlier row of the file: that row's record is theirs. */
  repeated: number;
  failed: number;
  linked: number;
  failures: string[];
}

/** 3. Links a written row's source ids; a pair already on another record fails the row. */
async function linkRow(links: LinkStore, row: GoodRow, id: string, tally: Tally): Promise<void> {
  for (const [source, sourceId] of row.links) {
    // a link refused by a throttling server wrote nothing: it waits its turn like the batches
    if (await waitingOutThrottle(() => links.link(id, sourceId, source))) tally.linked++;
    else if ((await waitingOutThrottle(() => links.getLinked(sourceId, source)))?.id !== id) {
      tally.failures.push(`line ${row.line}: ${source} id is already linked to another patient`);
      tally.failed++;
    }
  }
}

/** 2. Writes the rows of one batch earlier runs did not, then links its rows. */
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
      tally.failed++;
      tally.failures.push(`line ${row.line}: ${result.failed}`);
      continue;
    }
    if (result.present) tally.present++;
    else tally.written++;
    if (run.links) await linkRow(run.links, row, result.id, tally);
  }
}

/** Runs the command; `env` configures the storage, `io` receives the summary (stdout) and the rest (stderr). */
export async function runImport(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  io: { stdout: TextOut; stderr: TextOut } = process,
): Promise<number> {
  const started = Date.now();
  const run = importRun(args, env);
  const err = io.stderr;
  // records imports before the import-row identifier wrote (none on most servers)
  const legacy = run.imports.legacyImportedRows().then((imported) => {
    if (imported.size)
      err.write(`${imported.size} records an earlier import wrote found on the server\n`);
    return imported;
  });
  // awaited below; a file without a valid row never awaits it before
  legacy.catch(() => undefined);
  // the check starts once the first batch is written: started before, it would delay the first writes
  let checked: Promise<{ file: CheckedFile; progress: Progress }> | undefined;
  const checking = () =>
    (checked ??= checkFile(run, err).then((file) => ({
      file,
      progress: new Progress(file.valid, err, started),
    })));
  const tally: Tally = { written: 0, present: 0, repeated: 0, failed: 0, linked: 0, failures: [] };
  const done = () => tally.written + tally.present + tally.repeated + tally.failed;
  const batched = lookedUpAhead(run, batches(run, legacy, tally), legacy);
  await bounded(batched, run.concurrency, async (batch) => {
    await importBatch(run, batch, tally);
    // not awaited, so that the check never holds a writer; its failure is reported below
    checking().then(
      ({ progress }) => progress.update(done()),
      () => undefined,
    );
  });
  await legacy;
  const { file, progress } = await checking();
  progress.finish(done());
  for (const failure of tally.failures.slice(0, 50)) err.write(`failed ${failure}\n`);
  io.stdout.write(
    `${JSON.stringify({
      written: tally.written,
      skipped: { already_present: tally.present, repeated_in_file: tally.repeated },
      invalid: file.invalid.length,
      failed: tally.failed,
      links_created: tally.linked,
    })}\n`,
  );
  return file.invalid.length || tally.failed ? 1 : 0;
}
