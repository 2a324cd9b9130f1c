/**
 * The `check` section on unique links across processes: whether the server
 * refuses a second record holding a link pair (reportLinkGuarantee), what is
 * missing, and with `--install` installing it. A server without it is a
 * warning (links are then exact from one writer process only), not a failure.
 */
import { FhirRestClient } from '../../backends/fhir/fhir-rest.js';
import { reportLinkGuarantee } from '../../backends/fhir/link-guarantee-report.js';
import { fhirStorageOptionsFromEnv } from '../../config/fhir-storage-env.js';
import type { CheckSection } from './section.js';

export const linkGuaranteeSection: CheckSection = {
  title: 'Unique links across processes',
  async run(context) {
    const rest = new FhirRestClient({ ...context.connection, baseUrl: context.baseUrl });
    const { identifierSystems } = fhirStorageOptionsFromEnv(process.env);
    const report = await reportLinkGuarantee(
      rest,
      { identifierSystems },
      { install: context.install },
    );
    return { ok: true, lines: report.lines };
  },
};
