/**
 * Owns element paths in a resource's JSON (`address[0].city`,
 * `extension[url=…].valueDateTime`): parsing them, reading the element, and
 * setting or removing it while keeping everything else.
 */
import { isPlainObject, type JsonObject as Json } from '../../shared/plain-object.js';

/** One step of an element path: `name`, `name[0]`, or `name[key=value]` (first element whose key is value). */
export interface PathSegment {
  key: string;
  index?: number;
  match?: { key: string; value: string };
}

const keyPattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parsePath(text: string): PathSegment[] {
  if (typeof text !== 'string' || text === '') throw new Error('must be a non-empty element path');
  const segments: PathSegment[] = [];
  let i = 0;
  while (i < text.length) {
    let j = i;
    while (j < text.length && text[j] !== '.' && text[j] !== '[') j++;
    const key = text.slice(i, j);
    if (!keyPattern.test(key))
      throw new Error(`bad element name ${JSON.stringify(key)} in ${JSON.stringify(text)}`);
    const segment: PathSegment = { key };
    if (text[j] === '[') {
      const close = text.indexOf(']', j);
      if (close < 0) throw new Error(`unclosed [ in ${JSON.stringify(text)}`);
      const inner = text.slice(j + 1, close);
      if (/^\d+$/.test(inner)) segment.index = Number(inner);
      else {
        const eq = inner.indexOf('=');
        const mk = inner.slice(0, eq);
        if (eq < 1 || !keyPattern.test(mk) || eq === inner.length - 1) {
          throw new Error(
            `bad selector [${inner}] in ${JSON.stringify(text)} (use [n] or [key=value])`,
          );
        }
        segment.match = { key: mk, value: inner.slice(eq + 1) };
      }
      j = close + 1;
    }
    segments.push(segment);
    if (j < text.length) {
      if (text[j] !== '.' || j === text.length - 1)
        throw new Error(`bad element path ${JSON.stringify(text)}`);
      j++;
    }
    i = j;
  }
  return segments;
}

function pick(container: unknown, segment: PathSegment): unknown {
  if (!isPlainObject(container)) return undefined;
  const value = container[segment.key];
  if (segment.match) {
    const { key, value: wanted } = segment.match;
    return Array.isArray(value)
      ? value.find((e) => isPlainObject(e) && e[key] === wanted)
      : undefined;
  }
  if (segment.index !== undefined) return Array.isArray(value) ? value[segment.index] : undefined;
  // a plain step into a repeating element reads its first item
  return Array.isArray(value) ? value[0] : value;
}

export function getAt(resource: unknown, segments: readonly PathSegment[]): unknown {
  let current = resource;
  for (const segment of segments) current = pick(current, segment);
  return current;
}

/** True when an object holds nothing but the keys its selector put there. */
function isHollow(value: unknown, segment: PathSegment): boolean {
  if (!isPlainObject(value)) return value === undefined;
  return Object.keys(value).every((k) => k === segment.match?.key);
}

/**
 * Sets the element (creating what is missing on the way), or with `undefined`
 * removes it and any container left empty. Everything else is kept.
 */
export function setAt(resource: Json, segments: readonly PathSegment[], value: unknown): void {
  const [segment, ...rest] = segments;
  if (!segment) return;
  const current = resource[segment.key];
  const selected =
    segment.match !== undefined || segment.index !== undefined || Array.isArray(current);
  if (!selected) {
    if (rest.length === 0) {
      if (value === undefined) delete resource[segment.key];
      else resource[segment.key] = value;
      return;
    }
    if (value === undefined && !isPlainObject(current)) return;
    const child = isPlainObject(current) ? current : {};
    setAt(child, rest, value);
    if (Object.keys(child).length === 0) delete resource[segment.key];
    else resource[segment.key] = child;
    return;
  }
  // a repeating element
  const list = Array.isArray(current) ? current : current === undefined ? [] : [current];
  let at: number;
  if (segment.match) {
    const { key, value: wanted } = segment.match;
    at = list.findIndex((e) => isPlainObject(e) && e[key] === wanted);
  } else {
    at = segment.index ?? 0;
    if (at > list.length) at = list.length; // never leave holes
  }
  if (at < 0 || at >= list.length) {
    if (value === undefined) return;
    at = list.length;
    list.push(
      segment.match ? { [segment.match.key]: segment.match.value } : rest.length ? {} : undefined,
    );
  }
  if (rest.length === 0) {
    if (value === undefined) list.splice(at, 1);
    else list[at] = value;
  } else {
    const item = isPlainObject(list[at]) ? (list[at] as Json) : {};
    setAt(item, rest, value);
    if (isHollow(item, segment)) list.splice(at, 1);
    else list[at] = item;
  }
  if (list.length === 0) delete resource[segment.key];
  else resource[segment.key] = list;
}
