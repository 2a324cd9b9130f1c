/**
 * Records written by other systems, shaped as real EMRs write them (several
 * names with `use`, given/family without text, prefixes; several addresses;
 * gender other/unknown; deceasedBoolean; partial birthDate; active absent;
 * unrelated identifiers and extensions), loaded with raw FHIR requests into
 * the real server (`FHIR_BASE_URL`): what get, filter, update and link make
 * of them, as docs/fhir-backend.md ("Records written by others") documents.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { FhirStorage, comparisons as C } from '../../src/index.js';
import type { ResourceJson } from '../../src/backends/fhir/fhir-rest.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();
const run = randomBytes(5).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: run };
const storage = new FhirStorage({ baseUrl, scopeTag, timeoutMs: 30_000 });
const fhirJson = { 'content-type': 'application/fhir+json', accept: 'application/fhir+json' };
const mrnExtension = { url: 'http://emr.example.org/ext/religion', valueString: 'none' };

/** POSTs a Patient as another system would, with our run's tag so only this run sees it. */
async function emrPatient(extra: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${baseUrl}/Patient`, {
    method: 'POST',
    headers: fhirJson,
    body: JSON.stringify({ resourceType: 'Patient', meta: { tag: [scopeTag] }, ...extra }),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

async function raw(id: string): Promise<ResourceJson> {
  const res = await fetch(`${baseUrl}/Patient/${id}`, { headers: fhirJson });
  assert.equal(res.status, 200);
  return (await res.json()) as ResourceJson;
}

/** The Patient an EMR writes: the official name is not the first; no `text` anywhere. */
const emr = (family: string) => ({
  identifier: [
    { system: 'http://emr.example.org/mrn', value: `MRN-${family}` },
    { use: 'official', system: 'urn:oid:2.16.840.1.113883.4.1', value: '123-45-6789' },
  ],
  extension: [mrnExtension],
  name: [
    { use: 'nickname', given: ['Amazing'] },
    { use: 'official', prefix: ['Rear Admiral'], given: ['Grace', 'Brewster'], family },
    { use: 'old', given: ['Grace'], family: 'Murray' },
  ],
  gender: 'other',
  birthDate: '1906',
  deceasedBoolean: true,
  address: [
    { use: 'home', line: ['1 Navy Way'], city: 'Arlington', country: 'US' },
    { use: 'work', city: 'Washington' },
  ],
  telecom: [{ system: 'phone', value: '+1 555 0100', use: 'mobile' }],
});

describe('records written by others (raw FHIR, EMR-shaped)', () => {
  it('get: the official name from given+family (no prefix), first address city, other/unknown gender, partial birthDate and deceasedBoolean read as null, absent active as A', async () => {
    const family = `Hopper${run}a`;
    const id = await emrPatient(emr(family));
    const record = await storage.getPatient(id);
    assert.deepEqual(
      {
        name: record?.name,
        sex: record?.sex,
        birth_date: record?.birth_date,
        death_date: record?.death_date,
        location: record?.location,
        status: record?.status,
      },
      {
        name: `Grace Brewster ${family}`,
        sex: null,
        birth_date: null,
        death_date: null,
        location: 'Arlington',
        status: 'A',
      },
    );
    assert.deepEqual(await storage.getPatientLinks(id), [], 'foreign identifiers are not links');
  });

  it('filter: found by its record name (== and LIKE), status A, and not by sex or birth_date it does not have', async () => {
    const family = `Hopper${run}b`;
    const id = await emrPatient(emr(family));
    const ids = async (...lookups: Parameters<FhirStorage['filterPatients']>) =>
      (await storage.filterPatients(...lookups)).map((r) => r.id);
    assert.deepEqual(await ids(['name', C.EQUAL, `Grace Brewster ${family}`]), [id]);
    assert.deepEqual(await ids(['name', C.LIKE, `ster ${family}`]), [id]);
    assert.deepEqual(await ids(['name', C.LIKE, family], ['status', C.EQUAL, 'A']), [id]);
    assert.deepEqual(await ids(['name', C.LIKE, family], ['location', C.EQUAL, 'Arlington']), [id]);
    assert.deepEqual(await ids(['name', C.LIKE, family], ['sex', C.IN, ['M', 'F']]), []);
    assert.deepEqual(await ids(['name', C.LIKE, family], ['birth_date', C.LT, '2000-01-01']), []);
    assert.deepEqual(await ids(['name', C.EQUAL, 'Amazing']), [], 'a nickname is not the name');
  });

  it('birth_date == one day (alone, in, with < or another ==) finds exactly the full dates of that day, not partial ones (1953, 1953-07); death_date == finds a deceasedDateTime written in another zone', async () => {
    const family = `Hopper${run}d`;
    const born = async (birthDate: string, extra: Record<string, unknown> = {}) =>
      emrPatient({ name: [{ given: ['Ada'], family }], birthDate, ...extra });
    const day = await born('1953-07-09');
    const next = await born('1953-07-10');
    await born('1953-07');
    await born('1953');
    await born('1953-07-08');
    const late = await born('1960-01-01', { deceasedDateTime: '1999-12-31T22:30:00-05:00' });
    const ids = async (...lookups: Parameters<FhirStorage['filterPatients']>) =>
      (await storage.filterPatients(...lookups)).map((r) => r.id).sort();
    assert.deepEqual(await ids(['birth_date', C.EQUAL, '1953-07-09']), [day]);
    assert.deepEqual(
      await ids(['birth_date', C.IN, ['1953-07-09', '1953-07-10']]),
      [day, next].sort(),
    );
    assert.deepEqual(
      await ids(['birth_date', C.EQUAL, '1953-07-09'], ['birth_date', C.LT, '1960-01-01']),
      [day],
    );
    assert.deepEqual(
      await ids(['birth_date', C.EQUAL, '1953-07-09'], ['birth_date', C.EQUAL, '1953-07-10']),
      [],
    );
    assert.deepEqual(await ids(['death_date', C.EQUAL, '1999-12-31']), [late]);
  });

  it('name == and in find records without name.text by their parts (given and family, given only, family only, words inside a part), exactly', async () => {
    const tail = `Zed${run}`;
    const shapes: Record<string, [string, Record<string, unknown>[]]> = {
      parts: [`Mary Ann Lou van der ${tail}`, [{ given: ['Mary Ann', 'Lou'], family: `van der ${tail}` }]], // prettier-ignore
      givenOnly: [`Solo ${tail}`, [{ given: ['Solo', tail] }]],
      familyOnly: [`Fam ${tail}`, [{ family: `Fam ${tail}` }]],
      text: [`Texted ${tail}`, [{ text: `Texted ${tail}`, given: ['Other'], family: 'Name' }]],
    };
    const ids: Record<string, string> = {};
    for (const [shape, [, name]] of Object.entries(shapes)) ids[shape] = await emrPatient({ name });
    // decoys the server's candidates hold and the adapter drops: another case, a name part alone
    await emrPatient({ name: [{ text: `solo ${tail.toLowerCase()}` }] });
    await emrPatient({ name: [{ given: ['Other'], family: tail }] });
    const found = async (...lookups: Parameters<FhirStorage['filterPatients']>) =>
      (await storage.filterPatients(...lookups)).map((r) => r.id).sort();
    for (const [shape, [value]] of Object.entries(shapes))
      assert.deepEqual(await found(['name', C.EQUAL, value]), [ids[shape]], shape);
    assert.deepEqual(
      await found(['name', C.IN, Object.values(shapes).map(([value]) => value)]),
      Object.values(ids).sort(),
    );
  });

  it('update death_date on a deceasedBoolean patient replaces the choice element: the date reads back', async () => {
    const id = await emrPatient(emr(`Hopper${run}c`));
    assert.equal(await storage.updatePatient(id, { death_date: '1992-01-01' }), true);
    assert.equal((await storage.getPatient(id))?.death_date, '1992-01-01');
    const stored = await raw(id);
    assert.equal(stored.deceasedDateTime, '1992-01-01');
    assert.equal('deceasedBoolean' in stored, false, 'one deceased[x] variant, not two');
  });

  it('update death_date null on a deceasedBoolean patient keeps the boolean (it read null already)', async () => {
    const id = await emrPatient(emr(`Hopper${run}d`));
    assert.equal(await storage.updatePatient(id, { death_date: null }), true);
    assert.equal((await raw(id)).deceasedBoolean, true);
    assert.equal((await storage.getPatient(id))?.death_date, null);
  });

  it('update name writes the official name (text, given, family; use and prefix kept), other names untouched', async () => {
    const family = `Hopper${run}e`;
    const id = await emrPatient(emr(family));
    assert.equal(await storage.updatePatient(id, { name: `Grace Murray ${family}` }), true);
    assert.equal((await storage.getPatient(id))?.name, `Grace Murray ${family}`);
    const names = (await raw(id)).name as Record<string, unknown>[];
    assert.deepEqual(names[0], { use: 'nickname', given: ['Amazing'] });
    assert.deepEqual(names[1], {
      use: 'official',
      text: `Grace Murray ${family}`,
      prefix: ['Rear Admiral'],
      given: ['Grace', 'Murray'],
      family,
    });
    assert.deepEqual(names[2], { use: 'old', given: ['Grace'], family: 'Murray' });
  });

  it('update of one field keeps everything not mapped: identifiers, extensions, other addresses, telecom, other gender, partial birthDate', async () => {
    const id = await emrPatient(emr(`Hopper${run}f`));
    const before = await raw(id);
    assert.equal(await storage.updatePatient(id, { location: 'Alexandria' }), true);
    const after = await raw(id);
    assert.equal((after.address as { city?: string }[])[0]?.city, 'Alexandria');
    for (const key of ['identifier', 'telecom', 'gender', 'birthDate', 'deceasedBoolean', 'name'])
      assert.deepEqual(after[key], before[key], key);
    assert.deepEqual((after.address as unknown[])[1], (before.address as unknown[])[1]);
    assert.ok(
      (after.extension as unknown[]).some(
        (e) => JSON.stringify(e) === JSON.stringify(mrnExtension),
      ),
    );
  });

  it('a write over a value the mapping cannot represent is exact: sex over gender other, birth_date over a partial date', async () => {
    const id = await emrPatient({ ...emr(`Hopper${run}g`), birthDate: '1970-04' });
    assert.equal(await storage.updatePatient(id, { sex: 'F', birth_date: '1970-04-12' }), true);
    const stored = await raw(id);
    assert.equal(stored.gender, 'female');
    assert.equal(stored.birthDate, '1970-04-12');
    const record = await storage.getPatient(id);
    assert.equal(record?.sex, 'F');
    assert.equal(record?.birth_date, '1970-04-12');
  });

  it('gender unknown reads as null and is not found by sex; active false reads I', async () => {
    const id = await emrPatient({
      name: [{ given: ['Pat'], family: `Unknown${run}` }],
      gender: 'unknown',
      active: false,
    });
    const record = await storage.getPatient(id);
    assert.equal(record?.sex, null);
    assert.equal(record?.status, 'I');
    assert.deepEqual(
      await storage.filterPatients(['name', C.LIKE, `Unknown${run}`], ['sex', C.IN, ['M', 'F']]),
      [],
    );
  });

  it('link and unlink on an EMR patient keep its own identifiers', async () => {
    const id = await emrPatient(emr(`Hopper${run}h`));
    const before = (await raw(id)).identifier;
    assert.equal(await storage.linkPatient(id, `L-${run}`, 'clinic'), true);
    assert.equal((await storage.getPatient(`L-${run}`, 'clinic'))?.id, id);
    assert.deepEqual(await storage.getPatientLinks(id), [
      { source_id: `L-${run}`, source_name: 'clinic' },
    ]);
    assert.equal(await storage.unlinkPatient(id, `L-${run}`, 'clinic'), true);
    assert.deepEqual((await raw(id)).identifier, before);
  });
});
