/**
 * The `check` section on deletes: whether the server's answer to a DELETE
 * tells "deleted now" from "was already gone" (one round trip) or a read
 * decides first (two), and how that was learned (capabilities.ts).
 */
import { ServerCapabilities } from '../../backends/fhir/capabilities.js';
import { FhirRestClient } from '../../backends/fhir/fhir-rest.js';
import type { CheckSection } from './section.js';

export const deleteSection: CheckSection = {
  title: 'Deletes',
  async run(context) {
    const capabilities = new ServerCapabilities(
      new FhirRestClient({ ...context.connection, baseUrl: context.baseUrl }),
    );
    const name = (await capabilities.software()).name ?? 'an unnamed server';
    const line =
      (await capabilities.deleteAnswers()) === 'tells'
        ? `one round trip: ${name} says in its DELETE answer (OperationOutcome) whether something was deleted (known by the software name in /metadata)`
        : `two round trips (a read, then a DELETE with If-Match): ${name} is not known to tell a DELETE of a missing record from a real one (software name in /metadata; the safe default)`;
    return { ok: true, lines: [line] };
  },
};
