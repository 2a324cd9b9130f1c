/**
 * What FhirStorage learns about the real server at FHIR_BASE_URL (any
 * profile: tuned, stock, PostgreSQL, another implementation) agrees with what
 * the server answers to raw requests, and the results do not depend on it:
 * explain's request is a valid search there, and filters right after writes
 * see them even where the server keeps a search cache.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FhirStorage, comparisons as C } from '../../src/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();
const run = randomBytes(5).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: run };
const storage = new FhirStorage({ baseUrl, scopeTag, timeoutMs: 30_000 });
const accept = { accept: 'application/fhir+json', 'cache-control': 'no-cache' };

describe('server support, learned (FHIR_BASE_URL)', () => {
  it('explain: :exact and :contains support per parameter is what the server answers to the modifier', async () => {
    const explained = await storage.explain('patient', []);
    for (const modifier of ['contains', 'exact'] as const)
      for (const [param, works] of Object.entries(explained[modifier])) {
        const res = await fetch(`${baseUrl}/Patient?${param}:${modifier}=zq&_count=1`, {
          headers: accept,
        });
        await res.arrayBuffer();
        assert.equal(works, res.status === 200, `${param}:${modifier}: ${res.status}`);
      }
    assert.equal(explained.server.fhirVersion?.startsWith('4.0'), true);
  });

  it('explain: the request it names is a search the server answers, holding the record the filter returns', async () => {
    const created = await storage.createPatient({ name: `Explain Me ${run}`, location: 'Gulu' });
    const lookups = [
      ['name', C.EQUAL, `Explain Me ${run}`],
      ['location', C.IN, ['Gulu', 'Lira']],
    ] as const;
    const explained = await storage.explain('patient', lookups);
    assert.equal(explained.requests.length, 1);
    const url = explained.requests[0]!.replace(/^GET /, '');
    const res = await fetch(url, { headers: accept });
    assert.equal(res.status, 200);
    const bundle = (await res.json()) as { entry?: { resource: { id: string } }[] };
    assert.ok(bundle.entry?.some((e) => e.resource.id === created.id));
    assert.deepEqual(await storage.filterPatients(...lookups), [created]);
  });

  it('filters right after writes see them: create, rename, delete within seconds (a search cache would hide each)', async () => {
    const name = `Cache Probe ${run}`;
    const p = await storage.createPatient({ name });
    assert.deepEqual(
      (await storage.filterPatients(['name', C.EQUAL, name])).map((r) => r.id),
      [p.id],
    );
    assert.equal(await storage.updatePatient(p.id, { name: `${name} Renamed` }), true);
    assert.deepEqual(await storage.filterPatients(['name', C.EQUAL, name]), []);
    assert.deepEqual(
      (await storage.filterPatients(['name', C.EQUAL, `${name} Renamed`])).map((r) => r.id),
      [p.id],
    );
    assert.equal(await storage.deletePatient(p.id), true);
    assert.deepEqual(await storage.filterPatients(['name', C.LIKE, name]), []);
  });
});
