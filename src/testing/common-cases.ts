/**
 * The filter cases every model shares (name, location, status, id and the generated dates),
 * written for fixtures a–c; each table function is one field's operators.
 */
import { comparisons as C } from '../api/comparisons.js';
import type { Lookup } from '../api/types.js';
import { byTime, type FilterCase, type Fixtures } from './support.js';

/** The lookups of a case: the run token's scope and the case's own lookups. */
export function scoped(T: string): (...lookups: Lookup[]) => () => Lookup[] {
  const scope: Lookup = ['name', C.LIKE, T];
  return (...lookups) =>
    () => [scope, ...lookups];
}

const all = (fx: Fixtures) => Object.keys(fx);

function nameCases(T: string): FilterCase[] {
  const s = scoped(T);
  return [
    { title: 'no lookup but the run token: all fixtures', lookups: s(), expect: all },
    {
      title: 'name == (exact, case-sensitive)',
      lookups: s(['name', C.EQUAL, `Alpha ${T}`]),
      expect: ['a'],
    },
    {
      title: 'name == matches no prefix of a longer name',
      lookups: s(['name', C.EQUAL, `Alpha`]),
      expect: [],
    },
    {
      title: 'name % (case-sensitive substring)',
      lookups: s(['name', C.LIKE, 'Alpha']),
      expect: ['a'],
    },
    { title: 'name % lower case', lookups: s(['name', C.LIKE, 'alpha']), expect: ['b'] },
    { title: 'name % inner part', lookups: s(['name', C.LIKE, 'lpha']), expect: ['a', 'b'] },
    {
      title: 'name in',
      lookups: s(['name', C.IN, [`Alpha ${T}`, `Beta ${T}`, `Nobody ${T}`]]),
      expect: ['a', 'c'],
    },
    { title: 'name in []', lookups: s(['name', C.IN, []]), expect: [] },
    {
      title: 'name < (code point order: A < B < a)',
      lookups: s(['name', C.LT, `Beta ${T}`]),
      expect: ['a'],
    },
    { title: 'name <=', lookups: s(['name', C.LTE, `Beta ${T}`]), expect: ['a', 'c'] },
    { title: 'name >', lookups: s(['name', C.GT, `Beta ${T}`]), expect: ['b'] },
    { title: 'name >=', lookups: s(['name', C.GTE, `Beta ${T}`]), expect: ['b', 'c'] },
  ];
}

function locationAndStatusCases(T: string): FilterCase[] {
  const s = scoped(T);
  return [
    { title: 'location ==', lookups: s(['location', C.EQUAL, `Kampala ${T}`]), expect: ['a'] },
    {
      title: 'location % (null matches nothing)',
      lookups: s(['location', C.LIKE, T]),
      expect: ['a', 'c'],
    },
    {
      title: 'location % is case-sensitive',
      lookups: s(['location', C.LIKE, 'kampala']),
      expect: [],
    },
    { title: 'location in', lookups: s(['location', C.IN, [`Gulu ${T}`, 'x']]), expect: ['c'] },
    { title: 'location <', lookups: s(['location', C.LT, `Kampala ${T}`]), expect: ['c'] },
    { title: 'location <=', lookups: s(['location', C.LTE, `Kampala ${T}`]), expect: ['a', 'c'] },
    { title: 'location >', lookups: s(['location', C.GT, `Gulu ${T}`]), expect: ['a'] },
    { title: 'location >=', lookups: s(['location', C.GTE, `Gulu ${T}`]), expect: ['a', 'c'] },
    { title: 'status ==', lookups: s(['status', C.EQUAL, 'A']), expect: ['a', 'c'] },
    { title: 'status % ', lookups: s(['status', C.LIKE, 'I']), expect: ['b'] },
    { title: 'status in', lookups: s(['status', C.IN, ['I', 'X']]), expect: ['b'] },
    { title: 'status <', lookups: s(['status', C.LT, 'I']), expect: ['a', 'c'] },
    { title: 'status <=', lookups: s(['status', C.LTE, 'A']), expect: ['a', 'c'] },
    { title: 'status >', lookups: s(['status', C.GT, 'A']), expect: ['b'] },
    { title: 'status >=', lookups: s(['status', C.GTE, 'A']), expect: ['a', 'b', 'c'] },
  ];
}

function idCases(T: string): FilterCase[] {
  const scope: Lookup = ['name', C.LIKE, T];
  return [
    { title: 'id ==', lookups: (fx) => [scope, ['id', C.EQUAL, fx.b!.id!]], expect: ['b'] },
    {
      title: 'id in',
      lookups: (fx) => [scope, ['id', C.IN, [fx.a!.id!, fx.c!.id!]]],
      expect: ['a', 'c'],
    },
    {
      title: 'id %',
      lookups: (fx) => [scope, ['id', C.LIKE, fx.a!.id!]],
      expect: (fx) => all(fx).filter((k) => fx[k]!.id!.includes(fx.a!.id!)),
    },
    ...(['<', '<=', '>', '>='] as const).map((op): FilterCase => ({
      title: `id ${op}`,
      lookups: (fx) => [scope, ['id', op, fx.b!.id!]],
      expect: (fx) =>
        all(fx).filter((k) => {
          const [x, y] = [fx[k]!.id!, fx.b!.id!];
          return op === '<' ? x < y : op === '<=' ? x <= y : op === '>' ? x > y : x >= y;
        }),
    })),
  ];
}

/** created_date and updated_date, each against the fixtures' own values. */
function generatedDateCases(T: string): FilterCase[] {
  const s = scoped(T);
  const scope: Lookup = ['name', C.LIKE, T];
  const dayAfterTomorrow = new Date(Date.now() + 2 * 86_400_000);
  return (['created_date', 'updated_date'] as const).flatMap((field): FilterCase[] => [
    {
      title: `${field} == one fixture's value`,
      lookups: (fx) => [scope, [field, C.EQUAL, fx.b![field]!]],
      expect: (fx) => byTime(fx, field, (t) => t === Date.parse(fx.b![field]!)),
    },
    {
      title: `${field} in two values`,
      lookups: (fx) => [scope, [field, C.IN, [fx.a![field]!, fx.c![field]!]]],
      expect: (fx) =>
        byTime(
          fx,
          field,
          (t) => t === Date.parse(fx.a![field]!) || t === Date.parse(fx.c![field]!),
        ),
    },
    {
      title: `${field} < a fixture's value`,
      lookups: (fx) => [scope, [field, C.LT, fx.b![field]!]],
      expect: (fx) => byTime(fx, field, (t) => t < Date.parse(fx.b![field]!)),
    },
    {
      title: `${field} <= a fixture's value (as a Date)`,
      lookups: (fx) => [scope, [field, C.LTE, new Date(fx.b![field]!)]],
      expect: (fx) => byTime(fx, field, (t) => t <= Date.parse(fx.b![field]!)),
    },
    {
      title: `${field} > a fixture's value`,
      lookups: (fx) => [scope, [field, C.GT, fx.b![field]!]],
      expect: (fx) => byTime(fx, field, (t) => t > Date.parse(fx.b![field]!)),
    },
    {
      title: `${field} >= a fixture's value`,
      lookups: (fx) => [scope, [field, C.GTE, fx.b![field]!]],
      expect: (fx) => byTime(fx, field, (t) => t >= Date.parse(fx.b![field]!)),
    },
    {
      title: `${field} >= 2000-01-01 (a date): all`,
      lookups: s([field, C.GTE, '2000-01-01']),
      expect: all,
    },
    {
      title: `${field} > the day after tomorrow: none`,
      lookups: s([field, C.GT, dayAfterTomorrow]),
      expect: [],
    },
    {
      title: `${field} % its own date part`,
      lookups: (fx) => [scope, [field, C.LIKE, fx.a![field]!.slice(0, 10)]],
      expect: (fx) => all(fx).filter((k) => fx[k]![field]!.includes(fx.a![field]!.slice(0, 10))),
    },
  ]);
}

/** Cases shared by both models: name, location, status, id and the generated dates. */
export function commonCases(T: string): FilterCase[] {
  const s = scoped(T);
  return [
    ...nameCases(T),
    ...locationAndStatusCases(T),
    ...idCases(T),
    ...generatedDateCases(T),
    {
      title: 'AND on the same field',
      lookups: s(['name', C.GTE, `Alpha ${T}`], ['name', C.LT, `alpha ${T}`]),
      expect: ['a', 'c'],
    },
    {
      title: 'AND on two fields',
      lookups: s(['status', C.EQUAL, 'A'], ['location', C.LIKE, 'Gulu']),
      expect: ['c'],
    },
  ];
}
