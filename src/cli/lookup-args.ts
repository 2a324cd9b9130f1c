/**
 * Owns lookups given as command-line arguments, written as the facade's query
 * string writes them: `name__like=Jo`, `birth_date__gte=2000-01-01`,
 * `name__in=Joe name__in=Jane` (`__in` repeats; a bare field is `==`).
 */
import { keywordsToLookups } from '../api/filters.js';
import type { Lookup } from '../api/types.js';

export function lookupArgs(args: readonly string[]): Lookup[] {
  const keywords: Record<string, string | string[]> = {};
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new Error(`a lookup is field__op=value, not ${JSON.stringify(arg)}`);
    const [key, value] = [arg.slice(0, eq), arg.slice(eq + 1)];
    if (key.endsWith('__in'))
      keywords[key] = [...((keywords[key] as string[] | undefined) ?? []), value];
    else if (key in keywords) throw new Error(`${key} is given more than once (only __in repeats)`);
    else keywords[key] = value;
  }
  return keywordsToLookups(keywords);
}
