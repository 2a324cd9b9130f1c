/**
 * Owns `FhirStorage`: checking its options, loading the mapping files, and
 * wiring one `FhirRecordStore` per model (and the patient links) as its
 * `stores` and `links`, the contract's methods over them (named-methods.ts).
 * Everything FHIR-specific lives in the modules it wires.
 */
import path from 'node:path';
import { defaultModels, modelList, type ModelSpec, type Models } from '../../api/models.js';
import { StorageOverStores } from '../../api/named-methods.js';
import {
  storeNamed,
  storesFor,
  type ModelLinks,
  type ModelStores,
  type RecordStore,
} from '../../api/record-store.js';
import type { HealthcareStorage, Lookup } from '../../api/types.js';
import {
  checkDeleteAnswers,
  ServerCapabilities,
  type DeleteAnswersOption,
} from './capabilities.js';
import { freezeCreated } from './created-date.js';
import { explainLookups, type ExplainParts, type FhirExplanation } from './explain.js';
import { FhirRestClient, type FhirRestOptions } from './fhir-rest.js';
import { DEFAULT_SYSTEM_BASE } from './link-guarantee.js';
import { LinkUniquenessMode, type LinkUniquenessOption } from './link-uniqueness.js';
import { FhirLinkStore, IdentifierSystems } from './links.js';
import { defaultMappingsDir, loadMappingFile } from './mapping-file.js';
import { FhirRecordStore } from './record-store.js';
import { toRecord, type ResourceMapping } from './resource-mapping.js';
import { PageSize } from './page-size.js';
import { Scope, type ScopeTag } from './scope.js';
import { VersionedWriter } from './versioned-writes.js';

/** The connection options (base URL, headers, auth, retry, timeout, tls) are `FhirRestOptions`. */
export interface FhirStorageOptions extends FhirRestOptions {
  /**
   * Search page size (`_count`). Default: the largest page the server gives,
   * up to 1,000, learned from its first answer (HAPI caps `_count` silently:
   * 200 in its starter settings, 1,000 in the bundled `tuned` profile).
   */
  pageSize?: number;
  /** Directory holding `patient.json` and `practitioner.json`; default `<package root>/mappings`. */
  mappingsDir?: string;
  /** Source name → identifier system URI, for sources with a system of their own (e.g. an MRN system). */
  identifierSystems?: Record<string, string>;
  /** System URI prefix for every other source name (+ `encodeURIComponent(name)`); default `urn:healthcare-fhir:source:`. */
  identifierSystemBase?: string;
  /** When set, every resource written gets this `meta.tag`, and searches are restricted to it. */
  scopeTag?: ScopeTag;
  /**
   * How a link pair is kept on one record when other processes link too:
   * `detect` (default) uses the server's unique index when it has our
   * SearchParameters (HAPI; `healthcare-fhir check --install`), else links are
   * safe from one writer process only; `server` trusts the server without
   * asking; `single-writer` never relies on it. See docs/multi-process.md.
   */
  linkUniqueness?: LinkUniquenessOption;
  /**
   * How a DELETE's answer is read: `detect` (default) by the software in
   * /metadata (HAPI's answer tells whether something was deleted: one round
   * trip; any other server: a read, then a DELETE with `If-Match`); `tells`
   * or `read-first` as given. See docs/fhir-backend.md.
   */
  deleteAnswers?: DeleteAnswersOption;
  /** Times an update that lost a race (412) is re-read and re-applied before `ConflictError`; default 10. */
  maxRetries?: number;
  /** More models, each stored as the resource type its mapping file `<mappingsDir>/<name>.json` names; reachable through `store(name)`. */
  extraModels?: readonly ModelSpec[];
}

/** A model's mapping file: its FHIR type's (`practitioner.json`), else its name's (`location.json`). */
const mappingFile = (model: ModelSpec): string =>
  `${model.fhirType ?? model.name}.json`.toLowerCase();

function checkPageSize(value: number | undefined): PageSize {
  if (value !== undefined && (!Number.isInteger(value) || value < 1))
    throw new TypeError('FhirStorage: pageSize must be a positive integer');
  return new PageSize(value);
}

function checkScopeTag(tag: ScopeTag | undefined): ScopeTag | undefined {
  if (!tag) return undefined;
  const { system, code } = tag;
  if (typeof system !== 'string' || !system || typeof code !== 'string' || !code)
    throw new TypeError('FhirStorage: scopeTag needs a non-empty system and code');
  return { system, code };
}

function checkIdentifierSystems(options: FhirStorageOptions): IdentifierSystems {
  const systems = new Map<string, string>();
  const seen = new Set<string>();
  for (const [name, system] of Object.entries(options.identifierSystems ?? {})) {
    if (typeof system !== 'string' || !system)
      throw new TypeError(`FhirStorage: identifierSystems[${JSON.stringify(name)}] must be a URI`);
    if (seen.has(system))
      throw new TypeError(`FhirStorage: identifierSystems maps two source names to ${system}`);
    seen.add(system);
    systems.set(name, system);
  }
  return new IdentifierSystems(systems, options.identifierSystemBase ?? DEFAULT_SYSTEM_BASE);
}

function checkLinkUniqueness(value: LinkUniquenessOption | undefined): LinkUniquenessOption {
  const mode = value ?? 'detect';
  if (mode !== 'detect' && mode !== 'server' && mode !== 'claims' && mode !== 'single-writer')
    throw new TypeError(
      "FhirStorage: linkUniqueness must be 'detect', 'server', 'claims' or 'single-writer'",
    );
  return mode;
}

export class FhirStorage extends StorageOverStores implements HealthcareStorage {
  readonly models: Models;
  readonly extraModels: readonly ModelSpec[];
  readonly stores: ModelStores;
  readonly links: ModelLinks;
  private readonly rest: FhirRestClient;
  private readonly explainParts = new Map<string, ExplainParts>();

  /**
   * Checks the options and loads the mapping files synchronously: a malformed
   * mapping throws `FhirMappingError` here. No request is sent until the first call.
   */
  constructor(options: FhirStorageOptions) {
    super();
    if (!options || typeof options !== 'object')
      throw new TypeError('FhirStorage: options with a baseUrl are required');
    const rest = (this.rest = new FhirRestClient(options));
    const scope = new Scope(rest, checkPageSize(options.pageSize), checkScopeTag(options.scopeTag));
    const identifierSystems = checkIdentifierSystems(options);
    const dir = options.mappingsDir ?? defaultMappingsDir();
    const mappings = new Map<string, ResourceMapping>();
    for (const model of [...modelList(defaultModels), ...(options.extraModels ?? [])])
      mappings.set(model.name, loadMappingFile(path.join(dir, mappingFile(model)), model));
    const byType = new Map([...mappings.values()].map((m) => [m.resourceType, m]));
    const writer = new VersionedWriter(rest, options.maxRetries ?? 10, (current, next) => {
      scope.tagResource(next);
      const mapping = byType.get(current.resourceType);
      if (mapping) freezeCreated(mapping, current, toRecord(mapping, current), next);
    });
    const capabilities = new ServerCapabilities(rest, checkDeleteAnswers(options.deleteAnswers));
    const uniqueness = new LinkUniquenessMode(
      checkLinkUniqueness(options.linkUniqueness),
      rest,
      capabilities,
      {
        identifierSystemBase: options.identifierSystemBase,
        identifierSystems: options.identifierSystems,
      },
    );
    const mappingOf = (model: ModelSpec): ResourceMapping => mappings.get(model.name)!;
    for (const [name, mapping] of mappings)
      this.explainParts.set(name, { mapping, rest, scope, capabilities });
    this.models = {
      patient: mappingOf(defaultModels.patient).model,
      provider: mappingOf(defaultModels.provider).model,
    };
    this.extraModels = (options.extraModels ?? []).map((m) => mappingOf(m).model);
    ({ stores: this.stores, links: this.links } = storesFor(
      this.models,
      this.extraModels,
      (model) => new FhirRecordStore(mappingOf(model), rest, scope, writer, capabilities),
      (store) =>
        new FhirLinkStore(
          mappingOf(store.model),
          rest,
          scope,
          writer,
          identifierSystems,
          capabilities,
          uniqueness,
        ),
    ));
  }

  /** The resource type of a model's mapping (`Practitioner` for providers), or undefined for an unknown model. */
  fhirResourceType(model: string): string | undefined {
    return this.explainParts.get(model)?.mapping.resourceType;
  }

  /** The store of one model (a contract model or one of `extraModels`). */
  store(model: string): RecordStore {
    return storeNamed(this.stores, model, 'FhirStorage');
  }

  /**
   * What the server supports (asked as a filter would: /metadata and the
   * `:contains` probes), what this backend relies on there, and for these
   * lookups the exact FHIR request a filter sends and what the adapter decides.
   * Lookups are validated as a filter validates them.
   */
  explain(model: string, lookups: readonly Lookup[] = []): Promise<FhirExplanation> {
    const parts = this.explainParts.get(model);
    if (!parts) throw new TypeError(`FhirStorage: no model named ${JSON.stringify(model)}`);
    return explainLookups(parts, lookups);
  }

  /** One GET /metadata with a short timeout (at most 3 s), never retried. */
  async checkReady(): Promise<void> {
    await this.rest.capabilities(Math.min(this.rest.timeoutMs, 3000), true);
  }

  /** Closes the idle connections of its own TLS agent (the `tls` option), if any. */
  close(): Promise<void> {
    this.rest.tls?.close();
    return Promise.resolve();
  }
}
