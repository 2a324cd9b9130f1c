/**
 * The FHIR backend: patients are `Patient` and providers `Practitioner`
 * resources on a FHIR R4 server, mapped field by field as the mapping files
 * say. See docs/fhir-backend.md. Modules, one job each:
 *
 *   fhir-storage.ts      FhirStorage: options, mapping files, wiring
 *   record-store.ts      one model on one resource type: get/create/update/delete/filter, import writes
 *   import-rows.ts       the mark an import leaves (the row-hash identifier) and reads back
 *   page-size.ts         the search page size: the user's, else the server's cap, learned
 *   search-plan.ts       where a lookup becomes a search parameter (the operator table)
 *   search-request.ts    the one SearchRequest, formatted and escaped in one function
 *   resource-mapping.ts  where a record becomes a resource and back
 *   created-date.ts      created_date's rules
 *   element-path.ts      element paths in resource JSON
 *   mapping-file.ts      loading mapping files, checking them against their model
 *   mapping-schema.ts    checking mapping files against mappings/mapping.schema.json (compiled
 *                        ahead of time: mapping-validator.generated.ts, npm run generate:mapping-validator)
 *   versioned-writes.ts  If-Match writes, retried on lost races
 *   links.ts             links as identifiers, one record per pair across processes
 *   link-uniqueness.ts   whether the server refuses a second holder (detected), or single-writer
 *   link-guarantee.ts    the unique link SearchParameters: check and install
 *   scope.ts             the scope tag on resources and on every scoped search
 *   keyset-pages.ts      how a search is paged: the `_lastUpdated` keyset
 *   id-set.ts            the ids an iteration returned, in little memory
 *   capabilities.ts      what the server supports: /metadata, :contains probes, token escapes
 *   explain.ts           FhirStorage#explain: support, reliance, the plan for lookups
 *   fhir-rest.ts         the FHIR REST client, on the one HTTP layer
 *   fhir-search.ts       sending a SearchRequest: a page, every next page, probes
 *   fhir-answers.ts      reading the server's answers
 *   fhir-types.ts        ResourceJson, the client's options, outcomes
 *   fhir-id.ts           isFhirId
 *   server-check.ts      what `check` asks the server (auth, deletes, link guarantee)
 */
export { FhirStorage, type FhirStorageOptions } from './fhir-storage.js';
export { FhirMappingError } from './mapping-file.js';
export type { FhirExplanation, LookupExplanation } from './explain.js';
export type { LinkUniquenessOption } from './link-uniqueness.js';
