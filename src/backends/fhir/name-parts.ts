/**
 * Owns the `:exact` values that find every record whose string field equals
 * one of the lookup's values, from the server's exact-value index (HAPI: a
 * hash of the value as written, one row per indexed part).
 *
 * A plain string field (a city) is found by its value. A HumanName is found
 * by its `text` where a record has one; a record another system wrote may
 * have only `given` and `family`, and then its name reads as those parts
 * joined by spaces (resource-mapping.ts), so its last part (the family name,
 * or the last given name) is one of the value's suffixes that follow a space:
 * `Amina Okello 2n9c` → `Amina Okello 2n9c,Okello 2n9c,2n9c`. The server
 * indexes each part of a name separately (text, each given, family), so one
 * OR-ed parameter is a superset of the exact answer for both shapes; the
 * adapter keeps exactly the matches. The cost: a lookup also reads every
 * record with a name part equal to the value's last word(s).
 *
 * A value the exact index may not hold as written (over 200 UTF-16 units:
 * HAPI stores the first 200; leading or trailing whitespace: a server may trim
 * it) gives `undefined`: the plan then uses the starts-with search instead.
 */

/** HAPI keeps the first 200 characters of a string in its exact-value index. */
const EXACT_MAX_LENGTH = 200;
/** OR-ed exact values: one index look-up each; beyond this many the URL and the query grow past their worth. */
const MAX_EXACT_VALUES = 500;

const exactSafe = (value: string): boolean =>
  value.length > 0 && value.length <= EXACT_MAX_LENGTH && !/^\s|\s$/u.test(value);

/** The value and, for a HumanName, every suffix that follows a space: the parts a record may carry as its last name part. */
function candidates(value: string, humanName: boolean): string[] {
  const found = [value];
  if (humanName)
    for (let at = value.indexOf(' '); at >= 0; at = value.indexOf(' ', at + 1))
      found.push(value.slice(at + 1));
  return found;
}

/** The `:exact` values for `==`/`in` on `values`, or `undefined` when the exact index cannot be relied on for one of them. */
export function exactValues(values: readonly string[], humanName: boolean): string[] | undefined {
  const exact = new Set<string>();
  for (const value of values)
    for (const candidate of candidates(value, humanName)) {
      if (!exactSafe(candidate)) return undefined;
      exact.add(candidate);
    }
  return exact.size <= MAX_EXACT_VALUES ? [...exact] : undefined;
}
