/**
 * Owns reading an import file: CSV whose header row names the fields (an
 * empty cell is an unset field) or NDJSON of records (blank lines skipped),
 * one row at a time with its line number, whatever the file's size.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { parse } from 'csv-parse';
import { CliError } from './options.js';

export interface FileRow {
  /** 1-based line where the row starts. */
  line: number;
  /** Bytes of the file up to the row's end (how far the file is read). */
  end: number;
  /** The row's fields, or why it could not be read. */
  data: Record<string, unknown> | { unreadable: string };
}

export function fileFormat(file: string): 'csv' | 'ndjson' {
  if (/\.csv$/i.test(file)) return 'csv';
  if (/\.(ndjson|jsonl)$/i.test(file)) return 'ndjson';
  throw new CliError('the file must end in .csv or .ndjson');
}

async function* csvRows(file: string): AsyncGenerator<FileRow> {
  const parser = fs.createReadStream(file).pipe(
    parse({
      bom: true,
      columns: true,
      info: true,
      skip_empty_lines: true,
      relax_column_count: false,
    }),
  );
  for await (const { record, info } of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { lines: number; bytes: number };
  }>) {
    const data: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(record)) if (value !== '') data[field] = value;
    yield { line: info.lines, end: info.bytes, data };
  }
}

async function* ndjsonRows(file: string): AsyncGenerator<FileRow> {
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  let end = 0;
  for await (const text of lines) {
    line++;
    // a CRLF line is counted a byte short: `end` only measures progress
    end += Buffer.byteLength(text) + 1;
    if (text.trim() === '') continue;
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      yield { line, end, data: { unreadable: 'is not JSON' } };
      continue;
    }
    yield data !== null && typeof data === 'object' && !Array.isArray(data)
      ? { line, end, data: data as Record<string, unknown> }
      : { line, end, data: { unreadable: 'is not a JSON object' } };
  }
}

/** The rows of `file`; a CSV syntax error rejects with the line. */
export function readRows(file: string): AsyncGenerator<FileRow> {
  if (!fs.existsSync(file)) throw new CliError(`no such file: ${file}`);
  return fileFormat(file) === 'csv' ? csvRows(file) : ndjsonRows(file);
}
