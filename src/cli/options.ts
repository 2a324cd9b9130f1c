/**
 * Owns what every subcommand shares: its arguments (`--name value`, flags,
 * positionals) and the storage it works on, configured by the environment
 * like the facade (`FHIR_BASE_URL`, `FHIR_SCOPE_TAG`, `FHIR_PAGE_SIZE`, `FHIR_AUTH`,
 * `FHIR_TLS_*`, …).
 */
import { FhirStorage } from '../backends/fhir/index.js';
import { modelList, type ModelSpec } from '../api/models.js';
import { readFhirConnectionEnv } from '../config/fhir-connection-env.js';
import { fhirStorageOptionsFromEnv } from '../config/fhir-storage-env.js';

/** A usage error: the message says what to change; exit status 2. */
export class CliError extends Error {}

export interface ParsedArgs {
  positionals: string[];
  options: Map<string, string[]>;
  /** The flags given (options without a value, such as `--install`). */
  flags: Set<string>;
}

/**
 * The one argument parser of every subcommand: `--name value` (repeatable) and
 * `--name=value` for the `known` options, `--flag` for the `flags`; everything else is positional.
 */
export function parseArgs(
  args: readonly string[],
  known: readonly string[],
  flags: readonly string[] = [],
): ParsedArgs {
  const parsed: ParsedArgs = { positionals: [], options: new Map(), flags: new Set() };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      parsed.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name) && eq < 0) {
      parsed.flags.add(name);
      continue;
    }
    if (!known.includes(name))
      throw new CliError(
        `unknown option --${name} (options: ${[...known, ...flags].map((k) => `--${k}`).join(', ')})`,
      );
    const value = eq < 0 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined) throw new CliError(`--${name} needs a value`);
    parsed.options.set(name, [...(parsed.options.get(name) ?? []), value]);
  }
  return parsed;
}

/** The one value of `--name`, or `fallback`. */
export function single(parsed: ParsedArgs, name: string, fallback?: string): string | undefined {
  const values = parsed.options.get(name) ?? [];
  if (values.length > 1) throw new CliError(`--${name} is given more than once`);
  return values[0] ?? fallback;
}

/** A positive integer option. */
export function positiveInt(parsed: ParsedArgs, name: string, fallback: number): number {
  const text = single(parsed, name);
  if (text === undefined) return fallback;
  if (!/^[1-9][0-9]*$/.test(text)) throw new CliError(`--${name} must be a positive integer`);
  return Number(text);
}

/** The FhirStorage the environment describes, as for the facade (config/fhir-storage-env.ts, fhir-connection-env.ts). */
export function storageFromEnv(env: NodeJS.ProcessEnv = process.env): FhirStorage {
  const baseUrl = env.FHIR_BASE_URL?.trim();
  if (!baseUrl)
    throw new CliError('set FHIR_BASE_URL to the FHIR server (e.g. http://localhost:8080/fhir)');
  return new FhirStorage({
    baseUrl,
    ...fhirStorageOptionsFromEnv(env),
    ...readFhirConnectionEnv(env),
  });
}

/** `--model <name>`: one of the storage's models (patient, provider, and any extra ones). */
export function modelOption(parsed: ParsedArgs, storage: FhirStorage): ModelSpec {
  const name = single(parsed, 'model');
  const models = [...modelList(storage.models), ...storage.extraModels];
  const model = models.find((m) => m.name === name);
  if (!model) throw new CliError(`--model must be ${models.map((m) => m.name).join(' or ')}`);
  return model;
}
