/**
 * The `check` section on unique links across processes: whether the server
 * refuses a second record holding a link pair (reportLinkGuarantee), what is
 * missing, and with `--install` installing it. A server without it is a
 * warning (links are then exact from one writer process only), not a failure.
 */
import { FhirServerCheck } from '../../backends/fhir/server-check.js';
import { fhirStorageOptionsFromEnv } from '../../config/fhir-storage-env.js';
import type { CheckSection } from './section.js';

export const linkGuaranteeSection: CheckSection = {
  title: 'Unique links across processes',
  async run(context) {
    const server = new FhirServerCheck({ ...context.connection, baseUrl: context.baseUrl });
    const { identifierSystems } = fhirStorageOptionsFromEnv(process.env);
    const report = await server.linkGuarantee({ identifierSystems }, context.install);
    return { ok: true, lines: report.lines };
  },
};
