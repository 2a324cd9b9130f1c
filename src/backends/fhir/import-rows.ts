/**
 * Owns the mark `healthcare-fhir import` leaves on what it writes, by which a
 * later run finds the rows of its file already imported: an identifier
 * `urn:healthcare-fhir:import-row|<row hash>` (SHA-256 over the model, the
 * row's fields and its link values), a token every FHIR server indexes, so a
 * batch's rows are found by one `identifier=…,…` search, whatever else the
 * server holds. Imports before this mark left a constant tag
 * (`urn:healthcare-fhir:import|<model>`) and the hash in an extension; those
 * are still recognised (`legacyImportTagParameter`, `importedRowOf`). The
 * record mapping reads none of them; updates keep them, as they keep every
 * element they do not map.
 */
import { createHash } from 'node:crypto';
import type { ModelSpec } from '../../api/models.js';
import type { ResourceJson } from './fhir-rest.js';
import type { SearchParameter } from './search-request.js';

/** The identifier system of the import mark; the value is the row hash. */
export const IMPORT_ROW_SYSTEM = 'urn:healthcare-fhir:import-row';

/** `meta.tag` system of the tag imports wrote before the identifier; its code is the model name. */
export const LEGACY_IMPORT_TAG_SYSTEM = 'urn:healthcare-fhir:import';

/** The extension holding the row hash on what imports wrote before the identifier (`valueString`). */
export const LEGACY_IMPORT_ROW_EXTENSION_URL =
  'https://healthcare-fhir.dev/fhir/StructureDefinition/import-row';

/** The search parameter selecting what an import of `model` wrote before the identifier (the scope adds its own tag). */
export function legacyImportTagParameter(model: ModelSpec): SearchParameter {
  return { name: '_tag', system: LEGACY_IMPORT_TAG_SYSTEM, values: [model.name] };
}

/** The search parameter selecting the resources imported from rows of these hashes (one OR-search). */
export function importRowsParameter(hashes: readonly string[]): SearchParameter {
  return { name: 'identifier', system: IMPORT_ROW_SYSTEM, values: hashes };
}

/** A row's content hash: 40 hex digits of SHA-256 over the model, its fields (any order) and its links. */
export function rowHash(
  model: ModelSpec,
  data: Readonly<Record<string, unknown>>,
  links: readonly (readonly [source: string, sourceId: string])[],
): string {
  const fields = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256').update(JSON.stringify([model.name, fields, links]));
  return hash.digest('hex').slice(0, 40);
}

/** Marks a new resource as imported from the row of this hash: the import-row identifier. */
export function markImported(resource: ResourceJson, hash: string): void {
  (resource.identifier ??= []).push({ system: IMPORT_ROW_SYSTEM, value: hash });
}

/** The hash of the row a resource was imported from (its identifier, else a legacy extension), or `undefined`. */
export function importedRowOf(resource: ResourceJson): string | undefined {
  const identifiers = Array.isArray(resource.identifier) ? resource.identifier : [];
  const marked = identifiers.find((i) => i?.system === IMPORT_ROW_SYSTEM);
  if (typeof marked?.value === 'string') return marked.value;
  const extensions = (resource as { extension?: unknown }).extension;
  if (!Array.isArray(extensions)) return undefined;
  for (const extension of extensions) {
    const { url, valueString } = (extension ?? {}) as { url?: unknown; valueString?: unknown };
    if (url === LEGACY_IMPORT_ROW_EXTENSION_URL && typeof valueString === 'string')
      return valueString;
  }
  return undefined;
}
