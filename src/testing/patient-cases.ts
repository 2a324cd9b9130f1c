/**
 * The patient-only filter cases (sex, birth_date, death_date, names and locations of the
 * patient fixtures d and e), the patient fixtures, and the shared cases' expectations for them.
 */
import { comparisons as C } from '../api/comparisons.js';
import type { Lookup } from '../api/types.js';
import { scoped } from './common-cases.js';
import type { AnyRecord, FilterCase } from './support.js';

/** A case from a title, the lookups beside the run token's scope, and the expected fixture keys. */
function caseMaker(T: string): (title: string, lookups: Lookup[], expect: string[]) => FilterCase {
  const s = scoped(T);
  return (title, lookups, expect) => ({ title, lookups: s(...lookups), expect });
}

function sexAndBirthDateCases(T: string): FilterCase[] {
  const c = caseMaker(T);
  return [
    c('sex ==', [['sex', C.EQUAL, 'F']], ['b', 'c']),
    c('sex == M', [['sex', C.EQUAL, 'M']], ['a', 'e']),
    c('sex %', [['sex', C.LIKE, 'M']], ['a', 'e']),
    c('sex in (null matches nothing)', [['sex', C.IN, ['M', 'F']]], ['a', 'b', 'c', 'e']),
    c('sex <', [['sex', C.LT, 'M']], ['b', 'c']),
    c('sex <=', [['sex', C.LTE, 'M']], ['a', 'b', 'c', 'e']),
    c('sex >', [['sex', C.GT, 'F']], ['a', 'e']),
    c('sex >=', [['sex', C.GTE, 'F']], ['a', 'b', 'c', 'e']),
    c('birth_date ==', [['birth_date', C.EQUAL, '2000-01-15']], ['b', 'e']),
    c(
      'birth_date == a Date at midnight UTC',
      [['birth_date', C.EQUAL, new Date('2000-01-15T00:00:00Z')]],
      ['b', 'e'],
    ),
    c('birth_date % year', [['birth_date', C.LIKE, '2000-']], ['b', 'e']),
    c('birth_date % month', [['birth_date', C.LIKE, '-12-']], ['c']),
    c('birth_date in', [['birth_date', C.IN, ['1990-05-01', '2010-12-31']]], ['a', 'c']),
    c('birth_date <', [['birth_date', C.LT, '2000-01-15']], ['a']),
    c('birth_date <=', [['birth_date', C.LTE, '2000-01-15']], ['a', 'b', 'e']),
    c('birth_date >', [['birth_date', C.GT, '2000-01-15']], ['c']),
    c('birth_date >=', [['birth_date', C.GTE, '2000-01-15']], ['b', 'c', 'e']),
    c(
      'birth_date > a datetime later that day (by time)',
      [['birth_date', C.GT, '2000-01-14T23:00:00-05:00']],
      ['c'],
    ),
    c(
      'birth_date < a datetime later that day (by time)',
      [['birth_date', C.LT, '2000-01-15T04:00:00Z']],
      ['a', 'b', 'e'],
    ),
  ];
}

function deathDateAndTextCases(T: string): FilterCase[] {
  const c = caseMaker(T);
  return [
    c('death_date ==', [['death_date', C.EQUAL, '2020-03-01']], ['b']),
    c('death_date %', [['death_date', C.LIKE, '2021']], ['d']),
    c('death_date in', [['death_date', C.IN, ['2021-06-30', '1999-01-01']]], ['d']),
    c('death_date <', [['death_date', C.LT, '2021-01-01']], ['b']),
    c('death_date <=', [['death_date', C.LTE, '2021-06-30']], ['b', 'd']),
    c('death_date >', [['death_date', C.GT, '2021-06-30']], []),
    c('death_date > 1900 (nulls match nothing)', [['death_date', C.GT, '1900-01-01']], ['b', 'd']),
    c('death_date >=', [['death_date', C.GTE, '2020-03-01']], ['b', 'd']),
    c('name % non-ASCII', [['name', C.LIKE, 'Älpha']], ['d']),
    c('name == with accent is not the unaccented name', [['name', C.EQUAL, `Alpha ${T}`]], ['a']),
    c('name % a longer name', [['name', C.LIKE, `Alpha ${T} Jr`]], ['e']),
    c('location % within a longer value', [['location', C.LIKE, `Kampala ${T}`]], ['a', 'e']),
    c(
      'AND of range on birth_date',
      [
        ['birth_date', C.GTE, '1995-01-01'],
        ['birth_date', C.LTE, '2005-01-01'],
      ],
      ['b', 'e'],
    ),
    c(
      'AND of sex and birth_date',
      [
        ['sex', C.EQUAL, 'M'],
        ['birth_date', C.GTE, '2000-01-01'],
      ],
      ['e'],
    ),
    c(
      'AND of three fields',
      [
        ['status', C.EQUAL, 'I'],
        ['name', C.LIKE, 'lpha'],
        ['birth_date', C.IN, ['2000-01-15']],
      ],
      ['b', 'e'],
    ),
  ];
}

export function patientCases(T: string): FilterCase[] {
  return [...sexAndBirthDateCases(T), ...deathDateAndTextCases(T)];
}

/** Patient fixtures a–c match the provider ones on the shared fields; d and e only exist for patients. */
export function patientFixtures(T: string): Record<string, AnyRecord> {
  return {
    a: {
      name: `Alpha ${T}`,
      sex: 'M',
      birth_date: '1990-05-01',
      death_date: null,
      location: `Kampala ${T}`,
      status: 'A',
    },
    b: {
      name: `alpha ${T}`,
      sex: 'F',
      birth_date: '2000-01-15',
      death_date: '2020-03-01',
      location: null,
      status: 'I',
    },
    c: {
      name: `Beta ${T}`,
      sex: 'F',
      birth_date: '2010-12-31',
      death_date: null,
      location: `Gulu ${T}`,
      status: 'A',
    },
    d: {
      name: `Älpha ${T}`,
      sex: null,
      birth_date: null,
      death_date: '2021-06-30',
      location: `gulu ${T}`,
      status: 'A',
    },
    e: {
      name: `Alpha ${T} Jr`,
      sex: 'M',
      birth_date: '2000-01-15',
      death_date: null,
      location: `Kampala ${T} North`,
      status: 'I',
    },
  };
}

/**
 * The shared cases were written for fixtures a–c; patients add d and e, so
 * the expected keys of shared cases are recomputed for patients here by case title.
 */
export const patientOverrides: Record<string, string[]> = {
  'name % (case-sensitive substring)': ['a', 'e'],
  'name % inner part': ['a', 'b', 'd', 'e'],
  'name < (code point order: A < B < a)': ['a', 'e'],
  'name <=': ['a', 'c', 'e'],
  'name >': ['b', 'd'],
  'name >=': ['b', 'c', 'd'],
  'location % (null matches nothing)': ['a', 'c', 'd', 'e'],
  'location <': ['c'],
  'location <=': ['a', 'c'],
  'location >': ['a', 'd', 'e'],
  'location >=': ['a', 'c', 'd', 'e'],
  'status ==': ['a', 'c', 'd'],
  'status % ': ['b', 'e'],
  'status in': ['b', 'e'],
  'status <': ['a', 'c', 'd'],
  'status <=': ['a', 'c', 'd'],
  'status >': ['b', 'e'],
  'status >=': ['a', 'b', 'c', 'd', 'e'],
  'AND on the same field': ['a', 'c', 'e'],
  'AND on two fields': ['c'],
  'location % is case-sensitive': [],
};

/** The shared cases with the expectations that differ once patients d and e exist. */
export function withOverrides(
  cases: FilterCase[],
  overrides: Record<string, string[]>,
): FilterCase[] {
  return cases.map((fc) => (fc.title in overrides ? { ...fc, expect: overrides[fc.title]! } : fc));
}
