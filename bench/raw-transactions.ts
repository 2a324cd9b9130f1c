/**
 * The server's own write ceiling as the benches measure it: `rows` patients
 * POSTed in transaction Bundles of 250, 4 Bundles at a time, `Prefer:
 * return=minimal`, no library (the shape `healthcare-fhir import` sends).
 */

/** Patients per raw transaction Bundle: the import's default batch. */
export const RAW_BUNDLE_SIZE = 250;

/** The `i`th patient of a raw bench: `<given><i> <family>`, female, born 1990-01-01. */
export const rawPatient = (given: string, family: string) => (i: number) => ({
  resourceType: 'Patient',
  name: [{ text: `${given}${i} ${family}`, given: [`${given}${i}`], family }],
  gender: 'female',
  birthDate: '1990-01-01',
});

/** Seconds the server at `baseUrl` takes to create `rows` patients, `resource(i)` each. */
export async function rawTransactions(
  baseUrl: string,
  rows: number,
  resource: (i: number) => Record<string, unknown>,
): Promise<number> {
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next * RAW_BUNDLE_SIZE < rows) {
        const first = next++ * RAW_BUNDLE_SIZE;
        const entry = Array.from({ length: Math.min(RAW_BUNDLE_SIZE, rows - first) }, (_, k) => ({
          request: { method: 'POST', url: 'Patient' },
          resource: resource(first + k),
        }));
        const response = await fetch(baseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', prefer: 'return=minimal' },
          body: JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }),
        });
        if (response.status !== 200) throw new Error(`raw transaction: ${response.status}`);
        await response.arrayBuffer();
      }
    }),
  );
  return (performance.now() - start) / 1000;
}
