/**
 * Owns the FhirStorage options of the facade from the environment, checked
 * at start-up so a bad value stops it with a message naming the variable:
 * `MAPPINGS_DIR`, `FHIR_TIMEOUT_MS`, `FHIR_PAGE_SIZE`, `FHIR_SCOPE_TAG`
 * (`system|code`) and `FHIR_IDENTIFIER_SYSTEMS` (`name=uri,name=uri`).
 * (Auth and retry variables: fhir-connection-env.ts.)
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FhirStorageOptions } from '../backends/fhir/fhir-storage.js';

export type FhirStorageEnvOptions = Pick<
  FhirStorageOptions,
  'mappingsDir' | 'timeoutMs' | 'pageSize' | 'scopeTag' | 'identifierSystems'
>;

function positiveInteger(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const text = env[name]?.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive whole number, not ${JSON.stringify(text)}`);
  return value;
}

function mappingsDir(env: NodeJS.ProcessEnv): string | undefined {
  const text = env.MAPPINGS_DIR?.trim();
  if (!text) return undefined;
  const dir = path.resolve(text);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new Error(`MAPPINGS_DIR must be a directory of mapping files; ${dir} is not one`);
  return dir;
}

function scopeTag(env: NodeJS.ProcessEnv): FhirStorageOptions['scopeTag'] {
  const text = env.FHIR_SCOPE_TAG?.trim();
  if (!text) return undefined;
  const bar = text.indexOf('|');
  const system = text.slice(0, bar).trim();
  const code = text.slice(bar + 1).trim();
  if (bar < 0 || !system || !code || code.includes('|'))
    throw new Error(
      `FHIR_SCOPE_TAG must be system|code (e.g. urn:example:tenant|clinic-1), not ${JSON.stringify(text)}`,
    );
  return { system, code };
}

function identifierSystems(env: NodeJS.ProcessEnv): Record<string, string> | undefined {
  const text = env.FHIR_IDENTIFIER_SYSTEMS?.trim();
  if (!text) return undefined;
  const systems: Record<string, string> = {};
  for (const entry of text.split(',')) {
    const eq = entry.indexOf('=');
    const name = entry.slice(0, eq).trim();
    const uri = entry.slice(eq + 1).trim();
    if (eq < 0 || !name || !uri || !/^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(uri))
      throw new Error(
        `FHIR_IDENTIFIER_SYSTEMS must be name=uri,name=uri (e.g. mrn=http://hospital.example/mrn); ${JSON.stringify(entry.trim())} is not`,
      );
    if (name in systems) throw new Error(`FHIR_IDENTIFIER_SYSTEMS names ${name} twice`);
    systems[name] = uri;
  }
  return systems;
}

/** The options these variables set (unset ones are left to FhirStorage's defaults). */
export function fhirStorageOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): FhirStorageEnvOptions {
  const options: FhirStorageEnvOptions = {
    mappingsDir: mappingsDir(env),
    timeoutMs: positiveInteger(env, 'FHIR_TIMEOUT_MS'),
    pageSize: positiveInteger(env, 'FHIR_PAGE_SIZE'),
    scopeTag: scopeTag(env),
    identifierSystems: identifierSystems(env),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
