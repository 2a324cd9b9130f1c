#!/usr/bin/env node
/**
 * The `healthcare-fhir` command: dispatches to its subcommands (`check`).
 * A bad argument or environment variable is a message and exit code 2.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCheckArgs, runCheck } from './check/index.js';

const USAGE =
  'usage: healthcare-fhir check <base-url> [--model patient|provider] [--install] [lookup…]';

export async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...args] = argv;
  if (command !== 'check') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  let context;
  try {
    context = parseCheckArgs(args, env);
  } catch (error) {
    process.stderr.write(`healthcare-fhir check: ${(error as Error).message}\n`);
    return 2;
  }
  return runCheck(context, (text) => process.stdout.write(text));
}

// Run when executed (also through the npm bin symlink), not when imported.
if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  main(process.argv.slice(2), process.env).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`healthcare-fhir: ${(error as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
