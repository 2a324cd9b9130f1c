/**
 * The facade's own check of a request, driven by its route declaration: the
 * query parameters the route takes (each once; lookup keywords where the route
 * filters) and the envelope of a body that is not a record. What the values
 * mean (fields, lookups, source pairs) is the storage's one validation.
 */
import type { Request } from 'express';
import { ValidationError, type ValidationIssue } from '../api/errors.js';
import { repeatedKeywordLookup } from '../api/filters.js';
import { isPlainObject } from '../shared/plain-object.js';
import type { Envelope, KeywordLookups, RouteSpec } from './routes.js';

export interface RequestShape {
  query: Map<string, string>;
  keywordLookups: KeywordLookups;
}

/** The query string of a route: declared parameters, and lookup keywords on routes that filter. */
export function checkQuery(route: RouteSpec, req: Request): RequestShape {
  const params = new URL(req.originalUrl, 'http://facade.invalid').searchParams;
  const issues: ValidationIssue[] = [];
  const query = new Map<string, string>();
  const keywordLookups: KeywordLookups = { lookups: [], keys: [] };
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    const declared = route.query?.some((p) => p.name === key);
    if (!declared && !route.lookups) {
      issues.push({ field: key, message: 'is not a query parameter of this route' });
      continue;
    }
    if (declared) {
      if (values.length > 1) issues.push({ field: key, message: 'is given more than once' });
      else query.set(key, values[0]!);
      continue;
    }
    try {
      keywordLookups.lookups.push(repeatedKeywordLookup(key, values));
      keywordLookups.keys.push(key);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.issues);
    }
  }
  for (const p of route.query ?? []) {
    if (p.required && !params.has(p.name)) {
      issues.push({ field: p.name, message: 'is a required query parameter' });
    }
  }
  if (issues.length) throw new ValidationError(issues);
  return { query, keywordLookups };
}

/** A body that is not a record: a JSON object with only the envelope's members, arrays where declared. */
export function checkEnvelope(envelope: Envelope, body: unknown): void {
  if (!isPlainObject(body)) throw new ValidationError(envelope.notAnObject);
  const issues: ValidationIssue[] = [];
  for (const field of Object.keys(body)) {
    if (!Object.hasOwn(envelope.members, field))
      issues.push({ field, message: envelope.unknownMember });
  }
  for (const [field, member] of Object.entries(envelope.members)) {
    if (!Object.hasOwn(body, field)) {
      if (member.required) issues.push({ field, message: 'is required' });
    } else if (member.array && !Array.isArray(body[field])) {
      issues.push({ field, message: member.array });
    }
  }
  if (issues.length) throw new ValidationError(issues);
}
