/**
 * The `check` section on deletes: whether the server's answer to a DELETE
 * tells "deleted now" from "was already gone" (one round trip) or a read
 * decides first (two), and how that was learned (capabilities.ts).
 */
import { FhirServerCheck } from '../../backends/fhir/server-check.js';
import type { CheckSection } from './section.js';

export const deleteSection: CheckSection = {
  title: 'Deletes',
  async run(context) {
    const server = new FhirServerCheck({ ...context.connection, baseUrl: context.baseUrl });
    const { software, answers } = await server.deletes();
    const name = software ?? 'an unnamed server';
    const line =
      answers === 'tells'
        ? `one round trip: ${name} says in its DELETE answer (OperationOutcome) whether something was deleted (known by the software name in /metadata)`
        : `two round trips (a read, then a DELETE with If-Match): ${name} is not known to tell a DELETE of a missing record from a real one (software name in /metadata; the safe default)`;
    return { ok: true, lines: [line] };
  },
};
