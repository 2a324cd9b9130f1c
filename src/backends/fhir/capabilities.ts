/**
 * Owns what the server says it can do: the search parameters its
 * CapabilityStatement (/metadata) lists per resource type, asked once per
 * storage and asked again after a failure.
 */
import type { FhirRestClient } from './fhir-rest.js';

/** Parameters every FHIR server supports on every resource type. */
const COMMON_SEARCH_PARAMS = ['_id', '_lastUpdated', '_tag'];

interface CapabilityRest {
  resource?: { type?: string; searchParam?: { name?: string }[] }[];
}

export class ServerCapabilities {
  private statement?: Promise<{ rest?: CapabilityRest[] }>;

  constructor(private readonly rest: FhirRestClient) {}

  /** The search parameters the server lists for `resourceType`. */
  async searchParams(resourceType: string): Promise<ReadonlySet<string>> {
    this.statement ??= (this.rest.capabilities() as Promise<{ rest?: CapabilityRest[] }>).catch(
      (error: unknown) => {
        this.statement = undefined;
        throw error;
      },
    );
    const names = new Set(COMMON_SEARCH_PARAMS);
    for (const rest of (await this.statement).rest ?? []) {
      for (const resource of rest?.resource ?? []) {
        if (resource?.type !== resourceType) continue;
        for (const param of resource.searchParam ?? [])
          if (typeof param?.name === 'string') names.add(param.name);
      }
    }
    return names;
  }
}
