/**
 * The patient-link suite: link, unlink and get by (source id, source name), including
 * blank, unusual and racing pairs.
 */
import assert from 'node:assert/strict';
import type { HealthcareStorage, PatientRecord } from '../api/types.js';
import type { TestRunner } from './runner.js';
import { pathLikeIds, rejectsValidation, type SuiteContext } from './support.js';

/** What every link case is given. */
interface LinkContext {
  runner: TestRunner;
  getStorage: () => HealthcareStorage;
  token: string;
  source: string;
  newPatient: (label: string) => Promise<PatientRecord>;
}

/** Linking: what a link creates and keeps, and which pairs are one pair. */
function linkCases({ runner, getStorage, token, source, newPatient }: LinkContext): void {
  runner.it('link creates the association; get by source finds the patient', async () => {
    const s = getStorage();
    const p = await newPatient('Linked');
    assert.equal(await s.linkPatient(p.id, 'ext-1', source), true);
    assert.deepEqual(await s.getPatient('ext-1', source), await s.getPatient(p.id));
    if (s.getPatientLinks) {
      assert.deepEqual(await s.getPatientLinks(p.id), [
        { source_id: 'ext-1', source_name: source },
      ]);
    }
  });

  runner.it('linking keeps the record fields', async () => {
    const s = getStorage();
    const p = await s.createPatient({
      name: `Keep ${token}`,
      sex: 'F',
      birth_date: '2001-01-01',
      location: 'L',
    });
    assert.equal(await s.linkPatient(p.id, 'keep-1', source), true);
    const after = await s.getPatient(p.id);
    assert.deepEqual({ ...after, updated_date: null }, { ...p, updated_date: null });
  });

  runner.it(
    'the same pair twice is false; on another patient it is false and stays with the first',
    async () => {
      const s = getStorage();
      const [p, q] = [await newPatient('Pair P'), await newPatient('Pair Q')];
      assert.equal(await s.linkPatient(p.id, 'ext-2', source), true);
      assert.equal(await s.linkPatient(p.id, 'ext-2', source), false);
      assert.equal(await s.linkPatient(q.id, 'ext-2', source), false);
      assert.equal((await s.getPatient('ext-2', source))?.id, p.id);
      if (s.getPatientLinks) assert.deepEqual(await s.getPatientLinks(q.id), []);
    },
  );

  runner.it('the same source id under another source name is another pair', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Names P'), await newPatient('Names Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-3', source), true);
    assert.equal(await s.linkPatient(q.id, 'ext-3', `${source}-other`), true);
    assert.equal((await s.getPatient('ext-3', source))?.id, p.id);
    assert.equal((await s.getPatient('ext-3', `${source}-other`))?.id, q.id);
    assert.equal(await s.getPatient('ext-3', `${source}-third`), null);
  });

  runner.it('a patient can hold several links', async () => {
    const s = getStorage();
    const p = await newPatient('Several');
    assert.equal(await s.linkPatient(p.id, 'sev-1', source), true);
    assert.equal(await s.linkPatient(p.id, 'sev-2', source), true);
    assert.equal(await s.linkPatient(p.id, 'sev-1', `${source}-b`), true);
    if (s.getPatientLinks) {
      const links = (await s.getPatientLinks(p.id))!
        .map((l) => `${l.source_name}/${l.source_id}`)
        .sort();
      assert.deepEqual(links, [`${source}-b/sev-1`, `${source}/sev-1`, `${source}/sev-2`]);
    }
    for (const id of ['sev-1', 'sev-2']) assert.equal((await s.getPatient(id, source))?.id, p.id);
  });
}

/** Missing patients, unlinking, and pairs freed for another patient. */
function unlinkCases({ runner, getStorage, token, source, newPatient }: LinkContext): void {
  runner.it(
    'link to a missing patient, or an id like a path, is false and links nothing',
    async () => {
      const s = getStorage();
      for (const id of [`missing-${token}`, ...pathLikeIds]) {
        assert.equal(await s.linkPatient(id, 'ext-4', source), false, JSON.stringify(id));
        assert.equal(await s.unlinkPatient(id, 'ext-4', source), false, JSON.stringify(id));
        if (s.getPatientLinks) assert.equal(await s.getPatientLinks(id), null, JSON.stringify(id));
      }
      assert.equal(await s.getPatient('ext-4', source), null);
    },
  );

  runner.it(
    'unlink: wrong patient or wrong pair is false; the right one is true once',
    async () => {
      const s = getStorage();
      const [p, q] = [await newPatient('Unlink P'), await newPatient('Unlink Q')];
      assert.equal(await s.linkPatient(p.id, 'ext-5', source), true);
      assert.equal(await s.unlinkPatient(q.id, 'ext-5', source), false, 'from the wrong patient');
      assert.equal(await s.unlinkPatient(p.id, 'ext-5x', source), false, 'wrong source id');
      assert.equal(await s.unlinkPatient(p.id, 'ext-5', `${source}x`), false, 'wrong source name');
      assert.equal((await s.getPatient('ext-5', source))?.id, p.id, 'still linked');
      assert.equal(await s.unlinkPatient(p.id, 'ext-5', source), true);
      assert.equal(await s.unlinkPatient(p.id, 'ext-5', source), false);
      assert.equal(await s.getPatient('ext-5', source), null);
      assert.ok(await s.getPatient(p.id), 'the patient itself stays');
    },
  );

  runner.it('unlink removes only that pair', async () => {
    const s = getStorage();
    const p = await newPatient('Only');
    assert.equal(await s.linkPatient(p.id, 'only-1', source), true);
    assert.equal(await s.linkPatient(p.id, 'only-2', source), true);
    assert.equal(await s.unlinkPatient(p.id, 'only-1', source), true);
    assert.equal(await s.getPatient('only-1', source), null);
    assert.equal((await s.getPatient('only-2', source))?.id, p.id);
  });

  runner.it('after unlink the pair can be linked again, to another patient', async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Relink P'), await newPatient('Relink Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-6', source), true);
    assert.equal(await s.unlinkPatient(p.id, 'ext-6', source), true);
    assert.equal(await s.linkPatient(q.id, 'ext-6', source), true);
    assert.equal((await s.getPatient('ext-6', source))?.id, q.id);
  });

  runner.it("a deleted patient's pairs are freed", async () => {
    const s = getStorage();
    const [p, q] = [await newPatient('Deleted P'), await newPatient('Deleted Q')];
    assert.equal(await s.linkPatient(p.id, 'ext-7', source), true);
    assert.equal(await s.deletePatient(p.id), true);
    assert.equal(await s.getPatient('ext-7', source), null);
    assert.equal(await s.linkPatient(q.id, 'ext-7', source), true);
    assert.equal((await s.getPatient('ext-7', source))?.id, q.id);
  });
}

/** Blank source ids and names, and pairs never linked. */
function edgeCases({ runner, getStorage, token, source, newPatient }: LinkContext): void {
  runner.it(
    'a blank source id or source name is a ValidationError, and links nothing',
    async () => {
      const s = getStorage();
      const p = await newPatient('Blank');
      for (const [id, name] of [
        ['', source],
        ['  ', source],
        ['blank-1', ''],
        ['blank-1', ' \t'],
      ]) {
        await rejectsValidation(
          s.linkPatient(p.id, id!, name!),
          `link ${JSON.stringify([id, name])}`,
        );
        await rejectsValidation(
          s.unlinkPatient(p.id, id!, name!),
          `unlink ${JSON.stringify([id, name])}`,
        );
        await rejectsValidation(s.getPatient(id!, name), `get by ${JSON.stringify([id, name])}`);
      }
      if (s.getPatientLinks) assert.deepEqual(await s.getPatientLinks(p.id), []);
    },
  );

  runner.it('get by source with an unknown pair is null', async () => {
    const s = getStorage();
    assert.equal(await s.getPatient(`never-${token}`, source), null);
    assert.equal(await s.getPatient('ext-1', `never-${token}`), null);
  });
}

/** Source ids and names with separators and non-ASCII text, and racing links of one pair. */
function unusualPairCases({ runner, getStorage, token, source, newPatient }: LinkContext): void {
  runner.it('source ids and names with , | $ \\ : / spaces and non-ASCII round-trip', async () => {
    const s = getStorage();
    const p = await newPatient('Tricky link');
    const pairs: [string, string][] = [
      ['a|b,c$d\\e', `${source}|x`],
      ['id with spaces/and:colons', `urn:oid:1.2.3 ${token}`],
      ['Ñandú-李', `Clinic Ünïcode ${token}`],
      ['?x=1&y=2', `https://example.org/ids/${token}?v=1`],
    ];
    for (const [id, name] of pairs) {
      assert.equal(await s.linkPatient(p.id, id, name), true, `${id} @ ${name}`);
      assert.equal((await s.getPatient(id, name))?.id, p.id, `${id} @ ${name}`);
    }
    if (s.getPatientLinks) {
      const links = (await s.getPatientLinks(p.id))!.map((l) => [l.source_id, l.source_name]);
      assert.deepEqual(
        links.map((l) => JSON.stringify(l)).sort(),
        pairs.map((l) => JSON.stringify(l)).sort(),
      );
    }
    assert.equal(
      await s.getPatient('a|b', `${source}|x`),
      null,
      'no partial match of an escaped value',
    );
  });

  runner.it('two racing links of one pair to two patients: exactly one wins', async () => {
    const s = getStorage();
    const patients = await Promise.all([
      newPatient('Race P'),
      newPatient('Race Q'),
      newPatient('Race R'),
    ]);
    const results = await Promise.all(patients.map((p) => s.linkPatient(p.id, 'race-1', source)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one true: ${JSON.stringify(results)}`);
    const winner = patients[results.indexOf(true)]!;
    assert.equal((await s.getPatient('race-1', source))?.id, winner.id);
  });
}

export function linkSuite({ runner, getStorage, token }: SuiteContext): void {
  const context: LinkContext = {
    runner,
    getStorage,
    token,
    source: `clinic-${token}`,
    newPatient: (label) => getStorage().createPatient({ name: `${label} ${token}` }),
  };
  linkCases(context);
  unlinkCases(context);
  edgeCases(context);
  unusualPairCases(context);
}
