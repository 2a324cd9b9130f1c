/**
 * The `check` section on what the server supports and how lookups reach it:
 * `FhirStorage#explain` on the server (its software, the search parameters
 * and the `:exact`/`:contains` support our mappings use, what we rely on)
 * and, for the lookups given, the exact FHIR request, whether the server
 * serves it from an index or must scan (a scan is warned about), what else
 * a name lookup reads (the parts records without name.text are found by),
 * and what the adapter decides. A search parameter the mappings use that
 * the server does not list, a modifier it refuses, or a scan is reported
 * (the results stay exact: the adapter filters) but is not a failure.
 */
import { FhirStorage } from '../../backends/fhir/index.js';
import { fhirStorageOptionsFromEnv } from '../../config/fhir-storage-env.js';
import { lookupArgs } from '../lookup-args.js';
import type { CheckSection } from './section.js';

const SERVED = {
  index: 'from an index',
  scan: 'by a scan (see the warning below)',
  none: 'no request',
} as const;

const value = (v: unknown): string => (v instanceof Date ? v.toISOString() : JSON.stringify(v));

export const planSection: CheckSection = {
  title: 'Server support and lookup plan',
  async run(context) {
    const lookups = lookupArgs(context.lookups);
    const storage = new FhirStorage({
      ...fhirStorageOptionsFromEnv(process.env),
      ...context.connection,
      baseUrl: context.baseUrl,
    });
    const e = await storage.explain(context.model, lookups);
    const software = [e.server.name, e.server.version].filter(Boolean).join(' ') || 'unnamed';
    const lines = [
      `server: ${software}, FHIR ${e.server.fhirVersion ?? '?'}; ${context.model} is ${e.resourceType}`,
      `search parameters listed: ${Object.entries(e.searchParams)
        .map(([p, listed]) => `${p} ${listed ? 'yes' : 'NO (left to the adapter)'}`)
        .join(', ')}`,
      `:exact: ${Object.entries(e.exact)
        .map(([p, works]) => `${p} ${works ? 'yes' : 'refused (starts-with search for ==/in)'}`)
        .join(', ')}`,
      `:contains: ${Object.entries(e.contains)
        .map(([p, works]) => `${p} ${works ? 'yes' : "refused (LIKE is the adapter's)"}`)
        .join(', ')}`,
      'we rely on:',
      ...e.reliesOn.map((r) => `  - ${r}`),
    ];
    if (e.lookups.length > 0) {
      lines.push('lookups:');
      for (const l of e.lookups) {
        lines.push(`  ${l.lookup[0]} ${l.lookup[1]} ${value(l.lookup[2])}`);
        lines.push(`    server:  ${l.server}`);
        lines.push(`    served:  ${SERVED[l.served]}`);
        if (l.alsoReads.length)
          lines.push(
            `    reads:   also every record with a name part ${l.alsoReads.map(value).join(' or ')} (how records without name.text are found), however many share it`,
          );
        lines.push(`    adapter: ${l.adapter}`);
      }
    }
    lines.push(
      e.requests.length === 0
        ? 'request: none (no record can match)'
        : `request: ${e.requests.join('; ')} (then every next page)`,
    );
    for (const warning of e.warnings) lines.push(`WARNING: scan: ${warning}`);
    return { ok: true, lines };
  },
};
