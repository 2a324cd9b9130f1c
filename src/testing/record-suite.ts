/**
 * The record suite, run once per model: create and get, update, delete, validation and
 * every filter case of the model on its fixtures.
 */
import assert from 'node:assert/strict';
import { comparisons as C } from '../api/comparisons.js';
import {
  assertCompleteRecord,
  keysOf,
  pathLikeIds,
  type BoundModel,
  type Fixtures,
  type ModelUnderTest,
  type SuiteContext,
} from './support.js';
import type { TestRunner } from './runner.js';
import { updateAndDeleteSuite, validationSuite } from './record-writes.js';

function createAndGetCases(runner: TestRunner, m: BoundModel, token: string): void {
  runner.it('create returns the complete stored record, equal to get', async () => {
    const data = m.sample(`Create ${token}`);
    const created = await m.create(data);
    assertCompleteRecord(created, m.spec);
    for (const [field, value] of Object.entries(data)) assert.equal(created[field], value, field);
    assert.deepEqual(await m.get(created.id!), created);
  });

  runner.it('only a name: status defaults to A, every other field null', async () => {
    const created = await m.create({ name: `Minimal ${token}` });
    assertCompleteRecord(created, m.spec);
    assert.equal(created.status, m.spec.fields.status!.default);
    for (const [field, spec] of Object.entries(m.spec.fields)) {
      if (!spec.readOnly && !spec.required && spec.default === undefined) {
        assert.equal(created[field], null, `${field} is null`);
      }
    }
    assert.deepEqual(await m.get(created.id!), created);
  });

  runner.it(
    'values with , | $ \\ % quotes and non-ASCII text round-trip exactly and are found by ==',
    async () => {
      const tricky = `O'Brien "Zoë" ${token} a,b|c$d\\e%f_g*h 李雷 😀`;
      const location = `x,y|z$w\\v%u "q" Ñandú ${token}`;
      const created = await m.create({ ...m.sample(tricky), location });
      assert.equal(created.name, tricky);
      assert.equal(created.location, location);
      const fetched = await m.get(created.id!);
      assert.equal(fetched?.name, tricky);
      assert.equal(fetched?.location, location);
      assert.deepEqual(keysOf({ t: created }, await m.filter(['name', C.EQUAL, tricky])), ['t']);
      assert.deepEqual(keysOf({ t: created }, await m.filter(['location', C.EQUAL, location])), [
        't',
      ]);
      assert.deepEqual(
        keysOf(
          { t: created },
          await m.filter(['name', C.LIKE, `a,b|c$d\\e%f`], ['name', C.LIKE, token]),
        ),
        ['t'],
      );
      assert.deepEqual(
        keysOf({ t: created }, await m.filter(['name', C.IN, [tricky, `${tricky}x`]])),
        ['t'],
      );
    },
  );
}

function orderCopyAndMissingCases(runner: TestRunner, m: BoundModel, token: string): void {
  runner.it(
    'strings order by code point: U+FF5A sorts before U+1F600 (unlike UTF-16 units)',
    async () => {
      const scope = `cp${token}`;
      const fullwidth = await m.create(m.sample(`${scope} \uFF5A`));
      const emoji = await m.create(m.sample(`${scope} 😀`));
      const fx = { fullwidth, emoji };
      const below = await m.filter(['name', C.LIKE, scope], ['name', C.LT, `${scope} 😀`]);
      assert.deepEqual(keysOf(fx, below), ['fullwidth']);
      const above = await m.filter(['name', C.LIKE, scope], ['name', C.GT, `${scope} \uFF5A`]);
      assert.deepEqual(keysOf(fx, above), ['emoji']);
    },
  );
  runner.it('returned records are copies: changing one changes nothing stored', async () => {
    const created = await m.create(m.sample(`Copy ${token}`));
    const expected = { ...created };
    created.name = 'mutated';
    const fetched = await m.get(created.id!);
    assert.deepEqual(fetched, expected);
    fetched.location = 'mutated';
    assert.deepEqual(await m.get(created.id!), expected);
  });

  runner.it('a missing id, and ids that look like paths or queries, are missing', async () => {
    const created = await m.create(m.sample(`Missing ${token}`));
    for (const id of [
      `${created.id}-missing`,
      `nope-${token}`,
      ...pathLikeIds,
      `${created.id}/_history/1`,
      `${created.id}?_format=xml`,
    ]) {
      assert.equal(await m.get(id), null, `get ${JSON.stringify(id)}`);
      assert.equal(
        await m.update(id, { name: `Changed ${token}` }),
        false,
        `update ${JSON.stringify(id)}`,
      );
      assert.equal(await m.remove(id), false, `delete ${JSON.stringify(id)}`);
    }
    assert.deepEqual(await m.get(created.id!), created, 'nothing else changed');
  });
}

function filterSuite(runner: TestRunner, m: BoundModel, token: string): void {
  // The fixtures' own token, so the records the other cases make stay out of these results.
  const fixtureToken = `fx${token}`;
  let fx: Fixtures;
  runner.before(async () => {
    fx = {};
    for (const [key, data] of Object.entries(m.fixtures(fixtureToken))) {
      fx[key] = await m.create(data);
      // Apart in time, so the created_date/updated_date ranges below tell the fixtures apart.
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
  });

  runner.it('no lookups returns every record, fixtures included', async () => {
    const all = await m.filter();
    const ids = new Set(all.map((r) => r.id));
    assert.equal(ids.size, all.length, 'no record twice');
    for (const [key, record] of Object.entries(fx))
      assert.ok(ids.has(record.id), `fixture ${key} listed`);
    for (const record of all) assertCompleteRecord(record, m.spec);
  });

  runner.it('filtered records equal what get returns', async () => {
    const found = await m.filter(['name', C.LIKE, fixtureToken], ['id', C.EQUAL, fx.a!.id!]);
    assert.deepEqual(found, [await m.get(fx.a!.id!)]);
  });

  for (const fc of m.cases(fixtureToken)) {
    runner.it(fc.title, async () => {
      const expected = typeof fc.expect === 'function' ? fc.expect(fx) : fc.expect;
      assert.deepEqual(keysOf(fx, await m.filter(...fc.lookups(fx))), [...expected].sort());
    });
  }
}

export function recordSuite(
  { runner, getStorage, token }: SuiteContext,
  model: ModelUnderTest,
): void {
  // Bound to the storage once the suite's factory has run.
  const m = { ...model } as BoundModel;
  runner.before(() => {
    Object.assign(m, model.ops(getStorage()));
  });
  runner.describe('create and get', () => {
    createAndGetCases(runner, m, token);
    orderCopyAndMissingCases(runner, m, token);
  });
  updateAndDeleteSuite(runner, m, token);
  runner.describe('validation: bad input is a ValidationError and writes nothing', () =>
    validationSuite(runner, m, token),
  );
  runner.describe('filter: every operator on every field', () => filterSuite(runner, m, token));
}
