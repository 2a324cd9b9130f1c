#!/usr/bin/env node
/**
 * The `healthcare-fhir` command: dispatches to its subcommands, one module
 * each (`check`, `import`, `export`). A bad argument or environment variable
 * is a message and exit code 2.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCheckArgs, runCheck } from './check/index.js';
import { runExport } from './export.js';
import { runImport } from './import.js';
import { CliError } from './options.js';

const USAGE = `usage: healthcare-fhir <command> …
  check <base-url> [--model patient|provider] [--install] [lookup…]
  import <file.csv|file.ndjson> --model patient|provider [--link-column source=column]… [--batch-size N] [--concurrency N]
  export --model patient|provider [lookup…] [--format ndjson|csv]
import and export use FHIR_BASE_URL (and FHIR_SCOPE_TAG, FHIR_PAGE_SIZE, … as the facade)`;

async function check(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let context;
  try {
    context = parseCheckArgs(args, env);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  return runCheck(context, (text) => process.stdout.write(text));
}

const commands: Record<string, (args: string[], env: NodeJS.ProcessEnv) => Promise<number>> = {
  check,
  import: (args, env) => runImport(args, env),
  export: (args) => runExport(args),
};

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : commands[name];
  if (!command) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  try {
    return await command(args, env);
  } catch (error) {
    process.stderr.write(`healthcare-fhir ${name}: ${(error as Error).message}\n`);
    return error instanceof CliError ? 2 : 1;
  }
}

// Run when executed (also through the npm bin symlink), not when imported.
if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  // `… | head`: a reader that stops early is not an error of ours
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  main(process.argv.slice(2), process.env).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`healthcare-fhir: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
