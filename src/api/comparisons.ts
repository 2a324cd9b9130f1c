/** The lookup operators of the seed's `healthcare.backends.comparisons` module. */
export const comparisons = {
  EQUAL: '==',
  LIKE: '%',
  IN: 'in',
  LT: '<',
  LTE: '<=',
  GT: '>',
  GTE: '>=',
} as const;

export type ComparisonOperator = (typeof comparisons)[keyof typeof comparisons];

export const comparisonOperators: readonly ComparisonOperator[] = Object.values(comparisons);

export function isComparisonOperator(value: unknown): value is ComparisonOperator {
  return typeof value === 'string' && (comparisonOperators as readonly string[]).includes(value);
}
