/**
 * Owns the link-guarantee part of `healthcare-fhir check`: whether the server
 * refuses a second record holding a link pair (the guarantee links rely on
 * with several processes), what is missing, and with `install` installing it.
 * The check command prints `lines`; `warning` marks a server without it.
 */
import { ServerCapabilities } from './capabilities.js';
import type { FhirRestClient } from './fhir-rest.js';
import { isHapi } from './hapi.js';
import {
  checkLinkSearchParameters,
  installLinkSearchParameters,
  type LinkSystems,
} from './link-guarantee.js';
import { CLAIM_GRACE_MS } from './link-claims.js';
import { findLinkGuarantee } from './link-uniqueness.js';

export interface LinkGuaranteeReport {
  /** True when the server enforces unique links (after installing, with `install`). */
  guaranteed: boolean;
  /** True when links are safe from one writer process only: print it as a warning. */
  warning: boolean;
  lines: string[];
}

const SINGLE_WRITER =
  'without it, FhirStorage links from one writer process only: run one facade (or one FhirStorage) that links, or install the guarantee';

export async function reportLinkGuarantee(
  rest: FhirRestClient,
  systems: LinkSystems = {},
  { install = false }: { install?: boolean } = {},
): Promise<LinkGuaranteeReport> {
  const capabilities = new ServerCapabilities(rest);
  let finding = await findLinkGuarantee(rest, capabilities, systems);
  const lines: string[] = [];
  const software = (await capabilities.software()).name ?? 'unnamed software';
  const installable = finding.uniqueness === 'server' || isHapi(software);
  if (finding.uniqueness === 'single-writer' && installable) {
    const { missing } = await checkLinkSearchParameters(rest, systems);
    if (install) {
      const written = await installLinkSearchParameters(rest, systems);
      lines.push(`installed: PUT SearchParameter/${written.join(', SearchParameter/')}`);
      lines.push(
        'a HAPI cluster: the other nodes enforce it after their next SearchParameter refresh (up to ~70 s) or a restart',
      );
      finding = await findLinkGuarantee(rest, capabilities, systems);
    } else {
      lines.push(`missing: ${missing.map((sp) => `SearchParameter/${sp.id}`).join(', ')}`);
      lines.push('install it with: healthcare-fhir check <base-url> --install');
    }
  }
  const guaranteed = finding.uniqueness !== 'single-writer';
  lines.unshift(
    finding.uniqueness === 'server'
      ? `unique links: guaranteed by the server (${finding.reason}); a link is one If-Match PUT the server's unique index accepts or refuses, from any number of processes`
      : finding.uniqueness === 'claims'
        ? `unique links: guaranteed by claims (${finding.reason}); from any number of processes; a linker that dies between its claim and its write leaves the pair free for the next link after ${CLAIM_GRACE_MS / 1000} s`
        : `WARNING unique links: not guaranteed by the server (${finding.reason})`,
  );
  if (!guaranteed) {
    lines.push(SINGLE_WRITER);
    if (!installable) lines.push(`cannot install: ${software} is not known to enforce it`);
  }
  return { guaranteed, warning: !guaranteed, lines };
}
