/**
 * Owns the server-side unique link guarantee on HAPI FHIR: the two
 * SearchParameter resources (fhir-server/search-parameters/*.json, adapted to
 * the configured identifier systems) that make HAPI refuse a second Patient or
 * Practitioner holding a link identifier, and checking/installing them on a
 * server. Any client may install them; HAPI enforces them with its default
 * settings (unique combo indexes on, checked before save). See
 * docs/hapi-behaviour.md for HAPI's exact answers.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { defaultModels, modelList } from '../../api/models.js';
import { methodSuffix } from '../../api/record-store.js';
import { packageRoot } from '../../shared/package-root.js';
import type { FhirRestClient, ResourceJson } from './fhir-rest.js';

/** Identifier system prefix of a source name without a configured system (+ `encodeURIComponent(name)`). */
export const DEFAULT_SYSTEM_BASE = 'urn:healthcare-fhir:source:';

/** The resource types whose link identifiers are constrained: the contract models' (Patient, Practitioner). */
const LINKED_TYPES = modelList(defaultModels).map((m) => m.fhirType ?? methodSuffix(m.name));

export interface LinkSystems {
  /** Default `urn:healthcare-fhir:source:`. */
  identifierSystemBase?: string;
  /** Source name → identifier system URI, as given to FhirStorage. */
  identifierSystems?: Record<string, string>;
}

/** The SearchParameter resources, as stored in the repository (for the default systems). */
export function linkSearchParameterTemplates(): (ResourceJson & { id: string })[] {
  const dir = path.join(packageRoot(), 'fhir-server', 'search-parameters');
  return ['link-identifier.json', 'link-identifier-unique.json'].map(
    (file) =>
      JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ResourceJson & { id: string },
  );
}

/** A FHIRPath string literal. */
const fhirPathString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * The FHIRPath expression selecting exactly the identifiers we write as links:
 * system under the base, or one of the configured systems. Other identifiers
 * (an EMR's MRN) are never selected, so never constrained.
 */
export function linkIdentifierExpression(systems: LinkSystems = {}): string {
  const base = systems.identifierSystemBase ?? DEFAULT_SYSTEM_BASE;
  const configured = [...new Set(Object.values(systems.identifierSystems ?? {}))].sort();
  const condition = [
    `system.startsWith(${fhirPathString(base)})`,
    ...configured.map((system) => `system = ${fhirPathString(system)}`),
  ].join(' or ');
  return LINKED_TYPES.map((type) => `${type}.identifier.where(${condition})`).join(' | ');
}

/** The SearchParameters for these systems: the token parameter, then the unique composite over it. */
export function linkSearchParameters(systems: LinkSystems = {}): (ResourceJson & { id: string })[] {
  const [token, unique] = linkSearchParameterTemplates();
  return [{ ...token!, expression: linkIdentifierExpression(systems) }, unique!];
}

/** The elements HAPI acts on; a stored copy that differs in any of them is out of date. */
const effective = (sp: ResourceJson) => ({
  url: sp.url,
  status: sp.status,
  code: sp.code,
  base: sp.base,
  type: sp.type,
  expression: sp.expression,
  component: sp.component,
  extension: sp.extension,
});

export interface LinkGuaranteeStatus {
  /** Ids of the SearchParameters present on the server as we would install them. */
  present: string[];
  /** What is missing or different on the server: PUT these to install the guarantee. */
  missing: (ResourceJson & { id: string })[];
}

/** Reads our SearchParameters from the server (by id) and compares them with what these systems need. */
export async function checkLinkSearchParameters(
  client: FhirRestClient,
  systems: LinkSystems = {},
): Promise<LinkGuaranteeStatus> {
  const status: LinkGuaranteeStatus = { present: [], missing: [] };
  for (const wanted of linkSearchParameters(systems)) {
    const stored = await client.read('SearchParameter', wanted.id);
    if (stored && isDeepStrictEqual(effective(stored), effective(wanted)))
      status.present.push(wanted.id);
    else status.missing.push(wanted);
  }
  return status;
}

/**
 * Installs (PUT by id) whichever of our SearchParameters the server lacks or
 * holds differently; returns the ids written. On a HAPI cluster, other nodes
 * enforce a new parameter once they refresh their registry (within ~70 s).
 */
export async function installLinkSearchParameters(
  client: FhirRestClient,
  systems: LinkSystems = {},
): Promise<string[]> {
  const { missing } = await checkLinkSearchParameters(client, systems);
  for (const sp of missing) await client.put('SearchParameter', sp);
  return missing.map((sp) => sp.id);
}
