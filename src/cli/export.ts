/**
 * `healthcare-fhir export --model patient|provider [field__op=value…] [--format ndjson|csv]`:
 * the matching records streamed to stdout (NDJSON, or CSV with a header row
 * of the model's fields), a page at a time, waiting when stdout is slow.
 */
import { once } from 'node:events';
import { lookupArgs } from './lookup-args.js';
import { CliError, modelOption, parseArgs, single, storageFromEnv } from './options.js';

const csvCell = (value: string | null | undefined): string =>
  value === null || value === undefined
    ? ''
    : /[",\r\n]/.test(value)
      ? `"${value.replace(/"/g, '""')}"`
      : value;

export async function runExport(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ['model', 'format']);
  const format = single(parsed, 'format', 'ndjson');
  if (format !== 'ndjson' && format !== 'csv') throw new CliError('--format must be ndjson or csv');
  const storage = storageFromEnv();
  const model = modelOption(parsed, storage);
  const lookups = lookupArgs(parsed.positionals);
  const fields = Object.keys(model.fields);
  const out = process.stdout;
  const write = async (text: string) => {
    if (!out.write(text)) await once(out, 'drain');
  };
  if (format === 'csv') await write(`${fields.join(',')}\n`);
  let count = 0;
  for await (const record of storage.store(model.name).iterate(lookups)) {
    count++;
    await write(
      format === 'csv'
        ? `${fields.map((f) => csvCell(record[f])).join(',')}\n`
        : `${JSON.stringify(record)}\n`,
    );
  }
  process.stderr.write(`exported ${count} ${model.name}s\n`);
  return 0;
}
