/**
 * Owns remembering which resource ids an iteration already returned, in
 * little memory: an id in canonical decimal form (HAPI's server-assigned ids)
 * is kept as a number, about a quarter of the memory of the string; any other
 * id as its string. The two forms cannot collide: only canonical decimal
 * strings become numbers, and a number never equals a string in a Set.
 */
const CANONICAL_DECIMAL = /^(?:0|[1-9]\d{0,14})$/;

const keyOf = (id: string): string | number => (CANONICAL_DECIMAL.test(id) ? Number(id) : id);

export class IdSet {
  private readonly keys = new Set<string | number>();

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.add(id);
  }

  has(id: string): boolean {
    return this.keys.has(keyOf(id));
  }

  /** Adds `id`; true when it was not there before. */
  add(id: string): boolean {
    const key = keyOf(id);
    if (this.keys.has(key)) return false;
    this.keys.add(key);
    return true;
  }
}
