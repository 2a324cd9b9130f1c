/**
 * Owns what the FHIR backend tells `healthcare-fhir check` about a server
 * beyond `FhirStorage#explain`: how we authenticate (one token fetched now),
 * the retry budget, how a DELETE's answer reads, and the unique link
 * guarantee (installed with `install`). The check command asks this, never
 * the REST client itself.
 */
import type { AuthCheck } from '../../transport/auth.js';
import type { RetryPolicy } from '../../transport/retry.js';
import { ServerCapabilities, type DeleteAnswers } from './capabilities.js';
import { FhirRestClient, type FhirRestOptions } from './fhir-rest.js';
import type { LinkSystems } from './link-guarantee.js';
import { reportLinkGuarantee, type LinkGuaranteeReport } from './link-guarantee-report.js';

export class FhirServerCheck {
  private readonly rest: FhirRestClient;
  private readonly capabilities: ServerCapabilities;

  /** The connection as FhirStorage takes it (base URL, auth, retry, TLS). */
  constructor(options: FhirRestOptions) {
    this.rest = new FhirRestClient(options);
    this.capabilities = new ServerCapabilities(this.rest);
  }

  /** The retry budget of every request. */
  get retry(): RetryPolicy {
    return this.rest.retry;
  }

  /** The auth method, and for tokens the endpoint and one token fetched now (never the token). */
  auth(): Promise<AuthCheck> {
    return this.rest.auth ? this.rest.auth.check() : Promise.resolve({ method: 'none' });
  }

  /** The software name in /metadata, and how a DELETE's answer reads there (capabilities.ts). */
  async deletes(): Promise<{ software?: string; answers: DeleteAnswers }> {
    const { name } = await this.capabilities.software();
    return { software: name, answers: await this.capabilities.deleteAnswers() };
  }

  /** Whether the server refuses a second holder of a link pair; with `install`, installs it where it can. */
  linkGuarantee(systems: LinkSystems, install: boolean): Promise<LinkGuaranteeReport> {
    return reportLinkGuarantee(this.rest, systems, { install });
  }
}
