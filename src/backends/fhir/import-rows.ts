/**
 * Owns the marks `healthcare-fhir import` leaves on what it writes, by which
 * a later run finds rows already imported: one constant tag per model
 * (`urn:healthcare-fhir:import|<model>`, so the server keeps one tag
 * definition, and one count search tells whether anything was imported), and
 * per resource an extension holding the row's content hash (SHA-256 over the
 * model, the row's fields and its link values). The record mapping reads
 * neither; updates keep both, as they keep every element they do not map.
 */
import { createHash } from 'node:crypto';
import type { ModelSpec } from '../../api/models.js';
import type { ResourceJson } from './fhir-rest.js';
import type { SearchParameter } from './search-plan.js';

/** `meta.tag` system of the import tag; its code is the model name. */
export const IMPORT_TAG_SYSTEM = 'urn:healthcare-fhir:import';

/** The extension holding the content hash of the row a resource was imported from (`valueString`). */
export const IMPORT_ROW_EXTENSION_URL =
  'https://healthcare-fhir.dev/fhir/StructureDefinition/import-row';

/** The search parameter selecting what an import of `model` wrote (the scope adds its own tag). */
export function importTagParameter(model: ModelSpec): SearchParameter {
  return { name: '_tag', system: IMPORT_TAG_SYSTEM, values: [model.name] };
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

/** Marks a new resource as imported from the row of this hash: the import tag and the row extension. */
export function markImported(resource: ResourceJson, model: ModelSpec, hash: string): void {
  ((resource.meta ??= {}).tag ??= []).push({ system: IMPORT_TAG_SYSTEM, code: model.name });
  const extensions = ((resource as { extension?: unknown[] }).extension ??= []);
  extensions.push({ url: IMPORT_ROW_EXTENSION_URL, valueString: hash });
}

/** The hash of the row a resource was imported from, or `undefined`. */
export function importedRowOf(resource: ResourceJson): string | undefined {
  const extensions = (resource as { extension?: unknown }).extension;
  if (!Array.isArray(extensions)) return undefined;
  for (const extension of extensions) {
    const { url, valueString } = (extension ?? {}) as { url?: unknown; valueString?: unknown };
    if (url === IMPORT_ROW_EXTENSION_URL && typeof valueString === 'string') return valueString;
  }
  return undefined;
}
