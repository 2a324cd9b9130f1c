/**
 * The record suite's writes: updates, deletes and the bad input that must be refused
 * with a ValidationError while writing nothing.
 */
import assert from 'node:assert/strict';
import { comparisons as C } from '../api/comparisons.js';
import type { Lookup } from '../api/types.js';
import { rejectsValidation, type BoundModel } from './support.js';
import type { TestRunner } from './runner.js';

function updateCases(runner: TestRunner, m: BoundModel, token: string): void {
  runner.it(
    'a partial update changes only the given fields; updated_date increases, created_date stays',
    async () => {
      const created = await m.create(m.sample(`Update ${token}`));
      assert.equal(await m.update(created.id!, m.changes), true);
      const after = await m.get(created.id!);
      assert.ok(after);
      assert.deepEqual(after, {
        ...created,
        ...m.changes,
        updated_date: after.updated_date,
      });
      assert.ok(after.updated_date! > created.updated_date!, 'updated_date increased');
      assert.equal(after.created_date, created.created_date);
    },
  );

  runner.it('updated_date strictly increases over quick successive updates', async () => {
    const created = await m.create(m.sample(`Quick ${token}`));
    let previous = created.updated_date!;
    for (const location of ['L1', 'L2', 'L3']) {
      assert.equal(await m.update(created.id!, { location }), true);
      const now = (await m.get(created.id!))!.updated_date!;
      assert.ok(now > previous, `${now} > ${previous}`);
      previous = now;
    }
  });

  runner.it('the name can change and an optional field can be cleared with null', async () => {
    const created = await m.create(m.sample(`Rename ${token}`));
    assert.equal(await m.update(created.id!, { name: `Renamed ${token}`, location: null }), true);
    const after = await m.get(created.id!);
    assert.equal(after?.name, `Renamed ${token}`);
    assert.equal(after?.location, null);
  });

  runner.it('an empty update is true and keeps every field', async () => {
    const created = await m.create(m.sample(`Empty ${token}`));
    assert.equal(await m.update(created.id!, {}), true);
    const after = await m.get(created.id!);
    assert.deepEqual({ ...after, updated_date: null }, { ...created, updated_date: null });
  });

  runner.it('two concurrent updates of different fields are both kept', async () => {
    const created = await m.create(m.sample(`Concurrent ${token}`));
    const results = await Promise.all([
      m.update(created.id!, { location: `Both ${token}` }),
      m.update(created.id!, { status: 'A' }),
      m.update(created.id!, { name: `Concurrent ${token} renamed` }),
    ]);
    assert.deepEqual(results, [true, true, true]);
    const after = await m.get(created.id!);
    assert.equal(after?.location, `Both ${token}`);
    assert.equal(after?.status, 'A');
    assert.equal(after?.name, `Concurrent ${token} renamed`);
  });
}

export function updateAndDeleteSuite(runner: TestRunner, m: BoundModel, token: string): void {
  runner.describe('update', () => updateCases(runner, m, token));
  runner.describe('delete', () => {
    runner.it('delete is true once, then the record is gone everywhere', async () => {
      const created = await m.create(m.sample(`Delete ${token}`));
      assert.equal(await m.remove(created.id!), true);
      assert.equal(await m.get(created.id!), null);
      assert.equal(await m.remove(created.id!), false);
      assert.equal(await m.update(created.id!, { location: 'x' }), false);
      assert.deepEqual(await m.filter(['name', C.EQUAL, `Delete ${token}`]), []);
    });
  });
}

function inputCases(runner: TestRunner, m: BoundModel, token: string): void {
  runner.it('create without a name', async () => {
    const name = `NoName ${token}`;
    const { name: _omit, ...rest } = m.sample(name);
    await rejectsValidation(m.create(rest), 'create without name');
    await rejectsValidation(m.create({ ...rest, location: name }), 'create without name');
    assert.deepEqual(await m.filter(['location', C.EQUAL, name]), []);
  });

  runner.it('a record that is not an object', async () => {
    for (const data of [null, 'name', 42, ['name', 'x']]) {
      await rejectsValidation(m.create(data), `create(${JSON.stringify(data)})`);
    }
  });

  runner.it('each invalid field, on create and on update', async () => {
    const existing = await m.create(m.sample(`Valid ${token}`));
    let n = 0;
    for (const [what, bad] of m.invalid) {
      const name = `Invalid ${n++} ${token}`;
      const data = { ...m.sample(name), ...(bad as object) };
      await rejectsValidation(m.create(data), `create with ${what}`);
      assert.deepEqual(await m.filter(['name', C.EQUAL, name]), [], `nothing created for ${what}`);
      await rejectsValidation(m.update(existing.id!, bad), `update with ${what}`);
    }
    assert.deepEqual(await m.get(existing.id!), existing, 'failed updates changed nothing');
  });
}

export function validationSuite(runner: TestRunner, m: BoundModel, token: string): void {
  inputCases(runner, m, token);
  runner.it('an invalid update with valid fields beside it writes none of them', async () => {
    const existing = await m.create(m.sample(`Atomic ${token}`));
    await rejectsValidation(
      m.update(existing.id!, { location: 'Changed', status: 'nope' }),
      'partial bad update',
    );
    assert.deepEqual(await m.get(existing.id!), existing);
  });

  runner.it('bad lookups', async () => {
    const bad: [string, unknown[]][] = [
      ['unknown field', ['favourite_colour', C.EQUAL, 'blue']],
      ['unknown operator', ['name', '~', 'x']],
      ['IN without an array', ['name', C.IN, 'Joe']],
      ['array without IN', ['name', C.EQUAL, ['Joe']]],
      ['number value', ['name', C.EQUAL, 5]],
      ['null value', ['location', C.EQUAL, null]],
      ['date that does not parse', ['created_date', C.GT, 'yesterday']],
      ['not a calendar date', ['updated_date', C.LT, '2021-02-30']],
      ['a datetime without a zone', ['created_date', C.LT, '2021-02-03T10:00:00']],
      ['an invalid Date', ['created_date', C.LT, new Date('nope')]],
      ['IN with a bad date', ['updated_date', C.IN, ['2021-01-01', 'soon']]],
      ['not a triple', ['name', C.EQUAL]],
    ];
    for (const [what, lookup] of bad) {
      await rejectsValidation(m.filter(lookup as unknown as Lookup), what);
    }
  });
}
