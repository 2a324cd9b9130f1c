/**
 * What a section of `healthcare-fhir check` is: a title and a run that reports
 * lines and whether all is well. Sections (auth, server profile, lookup plans…)
 * live in their own modules and are listed in check/index.ts.
 */
import type { ModelName } from '../../api/models.js';
import type { FhirConnectionConfig } from '../../config/fhir-connection-env.js';

export interface CheckContext {
  /** The FHIR server's base URL. */
  baseUrl: string;
  /** Credentials, retry budget and TLS settings from the environment. */
  connection: FhirConnectionConfig;
  /** `--model` (default patient). */
  model: ModelName;
  /** Lookup arguments as given on the command line. */
  lookups: string[];
  /** `--install`: install what the server lacks that we can install (the unique link guarantee). */
  install: boolean;
}

export interface CheckResult {
  ok: boolean;
  lines: string[];
}

export interface CheckSection {
  title: string;
  run(context: CheckContext): Promise<CheckResult>;
}
