/**
 * Streaming on the real HAPI server: FhirStorage's keyset paging returns each
 * record once while others write meanwhile, reads a run of records sharing
 * one `_lastUpdated` (a transaction) whole, sends `_offset=0` to HAPI, and the
 * facade's `limit`/`cursor` pages over it miss nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import http from 'node:http';
import { after, describe, it } from 'node:test';
import { FhirStorage } from '../../src/index.js';
import type { PatientRecord } from '../../src/api/types.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { call, startApp } from '../http/helpers.js';

const baseUrl = requireFhirBaseUrl();

function scoped(pageSize: number) {
  const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: randomBytes(5).toString('hex') };
  return { scopeTag, storage: new FhirStorage({ baseUrl, scopeTag, pageSize }) };
}

/** Search URLs (path and query) sent while `fn` runs. */
async function searchesDuring(fn: () => Promise<void>): Promise<string[]> {
  const urls: string[] = [];
  const record = (message: unknown) => {
    const { request } = message as { request: http.ClientRequest };
    if (request.method === 'GET' && request.path.includes('/Patient?')) urls.push(request.path);
  };
  diagnostics.subscribe('http.client.request.start', record);
  try {
    await fn();
  } finally {
    diagnostics.unsubscribe('http.client.request.start', record);
  }
  return urls;
}

describe('streaming on HAPI', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('iterPatients: every record that exists throughout is returned exactly once while others update, delete and create', async () => {
    const { storage } = scoped(4);
    const created: PatientRecord[] = [];
    for (let i = 0; i < 22; i++) created.push(await storage.createPatient({ name: `S${i}` }));
    const seen: string[] = [];
    const deleted = created[20]!.id;
    const added: string[] = [];
    const urls = await searchesDuring(async () => {
      for await (const record of storage.iterPatients()) {
        seen.push(record.id);
        if (seen.length === 6) {
          // already returned, not yet returned, and the very last: each moves to the end
          for (const i of [0, 3, 10, 15]) await storage.updatePatient(created[i]!.id, { sex: 'F' });
          await storage.deletePatient(deleted);
          added.push((await storage.createPatient({ name: 'late' })).id);
        }
      }
    });
    assert.equal(new Set(seen).size, seen.length, 'no record twice');
    for (const record of created)
      if (record.id !== deleted) assert.ok(seen.includes(record.id), `missing ${record.id}`);
    assert.ok(seen.includes(added[0]!), 'a record created before the end is returned');
    assert.ok(urls.length >= 6, `paged (${urls.length} searches)`);
    assert.ok(
      urls.every((u) => u.includes('_sort=_lastUpdated') && /_count=(4|5)(&|$)/.test(u)),
      'every page is a sorted keyset search for the page size (+1 for the record read again)',
    );
    assert.ok(
      urls.slice(1).every((u) => u.includes('_offset=0')),
      'HAPI is asked with _offset=0',
    );
  });

  it('a transaction of records sharing one _lastUpdated, larger than a page, is returned whole', async () => {
    const { storage, scopeTag } = scoped(3);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: Array.from({ length: 8 }, (_, i) => ({
        resource: { resourceType: 'Patient', meta: { tag: [scopeTag] }, name: [{ text: `T${i}` }] },
        request: { method: 'POST', url: 'Patient' },
      })),
    };
    const response = await fetch(baseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(bundle),
    });
    assert.equal(response.status, 200);
    await storage.createPatient({ name: 'after' });
    const records: PatientRecord[] = [];
    for await (const record of storage.iterPatients()) records.push(record);
    const times = new Set(records.filter((r) => r.name !== 'after').map((r) => r.updated_date));
    assert.ok(times.size < 4, `the transaction shares its times (${times.size})`);
    assert.equal(records.length, 9);
    assert.equal(new Set(records.map((r) => r.id)).size, 9);
  });

  it('facade limit/cursor pages over FhirStorage return every record once', async () => {
    const { storage } = scoped(5);
    for (let i = 0; i < 13; i++) await storage.createPatient({ name: `C${i}`, sex: 'M' });
    const app = await startApp({ storage });
    cleanups.push(() => app.close());
    const ids: string[] = [];
    let path: string | null = '/patients?sex=M&limit=4';
    while (path) {
      const answer = await call(app.baseUrl, 'GET', path);
      assert.equal(answer.status, 200);
      const page = answer.json as { items: { id: string }[]; next: string | null };
      ids.push(...page.items.map((r) => r.id));
      path = page.next ? `/patients?sex=M&limit=4&cursor=${encodeURIComponent(page.next)}` : null;
    }
    assert.equal(ids.length, 13);
    assert.equal(new Set(ids).size, 13);
  });
});
