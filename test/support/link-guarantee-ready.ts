/**
 * Test set-up for the unique link guarantee: installs our SearchParameters on
 * a HAPI server and waits until every node of it refuses a duplicate link
 * (a HAPI node enforces a new SearchParameter once it refreshes its registry,
 * within ~70 s), probing with raw FHIR requests.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { FhirRestClient } from '../../src/backends/fhir/fhir-rest.js';
import { installLinkSearchParameters } from '../../src/backends/fhir/link-guarantee.js';

const FHIR_JSON = 'application/fhir+json';

async function createWith(
  base: string,
  identifier: object,
): Promise<{ status: number; id?: string }> {
  const res = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { accept: FHIR_JSON, 'content-type': FHIR_JSON },
    body: JSON.stringify({ resourceType: 'Patient', identifier: [identifier] }),
    signal: AbortSignal.timeout(60_000),
  });
  const body = (await res.json()) as { id?: string };
  return { status: res.status, id: body.id };
}

/** Installs the guarantee through `nodes[0]`; resolves once every node enforces it. */
export async function installLinkGuaranteeOn(nodes: readonly string[], timeoutMs = 120_000) {
  await installLinkSearchParameters(new FhirRestClient({ baseUrl: nodes[0]! }));
  const probe = {
    system: `urn:healthcare-fhir:source:probe-${randomBytes(4).toString('hex')}`,
    value: 'probe',
  };
  assert.equal((await createWith(nodes[0]!, probe)).status, 201);
  for (const node of nodes) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const second = await createWith(node, probe);
      if (second.status === 409) break;
      assert.equal(second.status, 201);
      await fetch(`${node}/Patient/${second.id}`, { method: 'DELETE' });
      assert.ok(
        Date.now() < deadline,
        `${node} does not enforce the unique link parameter after ${timeoutMs / 1000} s`,
      );
      await new Promise((r) => setTimeout(r, 5_000));
    }
  }
}
