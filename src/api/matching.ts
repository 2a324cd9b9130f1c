/**
 * The contract's lookup semantics, applied to a record. The memory backend
 * filters with it, and the FHIR backend checks the server's candidates with it.
 */
import { comparisons } from './comparisons.js';
import type { FieldKind } from './models.js';
import { dateStartTime, type NormalizedLookup, type Operand } from './validation.js';

/**
 * Compares strings by Unicode code point (JS `<` compares UTF-16 code units,
 * which orders U+E000–U+FFFF after astral characters).
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointOrder(x) - codePointOrder(y);
  }
  return a.length - b.length;
}

function codePointOrder(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Epoch ms of a stored date (`YYYY-MM-DD`, at 00:00 UTC) or datetime value. */
function storedTime(kind: FieldKind, value: string): number {
  return kind === 'date' ? dateStartTime(value) : Date.parse(value);
}

function compare(kind: FieldKind, stored: string, operand: Operand): number {
  if (kind === 'string' || operand.time === undefined)
    return compareCodePoints(stored, operand.text);
  return storedTime(kind, stored) - operand.time;
}

export function matchesLookup(
  record: Readonly<Record<string, unknown>>,
  lookup: NormalizedLookup,
): boolean {
  const stored = record[lookup.field];
  if (typeof stored !== 'string') return false;
  const kind = lookup.spec.kind;
  const first = lookup.operands[0];
  switch (lookup.operator) {
    case comparisons.LIKE:
      return stored.includes(first!.text);
    case comparisons.IN:
      return lookup.operands.some((o) => compare(kind, stored, o) === 0);
    case comparisons.EQUAL:
      return compare(kind, stored, first!) === 0;
    case comparisons.LT:
      return compare(kind, stored, first!) < 0;
    case comparisons.LTE:
      return compare(kind, stored, first!) <= 0;
    case comparisons.GT:
      return compare(kind, stored, first!) > 0;
    case comparisons.GTE:
      return compare(kind, stored, first!) >= 0;
  }
}

export function matchesAll(
  record: Readonly<Record<string, unknown>>,
  lookups: readonly NormalizedLookup[],
): boolean {
  return lookups.every((lookup) => matchesLookup(record, lookup));
}
