/**
 * Owns lookups given as command-line arguments, written as the facade's query
 * string writes them: `name__like=Jo`, `birth_date__gte=2000-01-01`,
 * `name__in=Joe name__in=Jane` (`__in` repeats; a bare field is `==`).
 */
import { repeatedKeywordLookup } from '../api/filters.js';
import type { Lookup } from '../api/types.js';

export function lookupArgs(args: readonly string[]): Lookup[] {
  const given = new Map<string, string[]>();
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`a lookup is field__op=value, not ${JSON.stringify(arg)}`);
    const key = arg.slice(0, eq);
    given.set(key, [...(given.get(key) ?? []), arg.slice(eq + 1)]);
  }
  return [...given].map(([key, values]) => repeatedKeywordLookup(key, values));
}
