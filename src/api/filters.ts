/**
 * Django-style filter keywords (`name__like: 'Jo'`) → lookup triples, and the
 * rule for a keyword given several times (query string, command line).
 */
import { comparisons, type ComparisonOperator } from './comparisons.js';
import { ValidationError } from './errors.js';
import type { Lookup, LookupValue } from './types.js';

export const keywordSuffixes: Readonly<Record<string, ComparisonOperator>> = {
  exact: comparisons.EQUAL,
  like: comparisons.LIKE,
  in: comparisons.IN,
  lt: comparisons.LT,
  lte: comparisons.LTE,
  gt: comparisons.GT,
  gte: comparisons.GTE,
};

/** Splits `birth_date__gte` into `['birth_date', '>=']`; a bare field name is EQUAL. */
export function parseKeyword(keyword: string): [field: string, operator: ComparisonOperator] {
  const at = keyword.lastIndexOf('__');
  if (at < 0) return [keyword, comparisons.EQUAL];
  const suffix = keyword.slice(at + 2);
  const operator = Object.hasOwn(keywordSuffixes, suffix) ? keywordSuffixes[suffix] : undefined;
  if (!operator) {
    throw new ValidationError([
      {
        field: keyword,
        message: `unknown operator suffix __${suffix} (use one of ${Object.keys(keywordSuffixes)
          .map((s) => `__${s}`)
          .join(', ')})`,
      },
    ]);
  }
  return [keyword.slice(0, at), operator];
}

export type FilterKeywords = Readonly<Record<string, LookupValue>>;

export function keywordsToLookups(filters: FilterKeywords): Lookup[] {
  return Object.entries(filters).map(([keyword, value]) => {
    const [field, operator] = parseKeyword(keyword);
    return [field, operator, value] as const;
  });
}

/**
 * A keyword with every value it was given, as a query string or command line
 * repeats it (`name__in=Joe&name__in=Jane`): `__in` takes them all as its
 * list, any other keyword exactly one (else a ValidationError naming it).
 */
export function repeatedKeywordLookup(keyword: string, values: readonly string[]): Lookup {
  const [field, operator] = parseKeyword(keyword);
  if (operator === comparisons.IN) return [field, operator, [...values]];
  if (values.length !== 1) {
    throw new ValidationError([
      { field: keyword, message: 'is given more than once (only __in takes several values)' },
    ]);
  }
  return [field, operator, values[0]!];
}
