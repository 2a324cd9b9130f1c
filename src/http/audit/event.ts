/**
 * Owns what one audit event says (contract §6): its shape, and how it is
 * read off a request and its answer. Only ids, field names, operators and a
 * link's source name go in: never a name, a date, a source id, a query value
 * or a body. Lookup fields and operators are kept only when they are the
 * model's fields and the contract's operators, so a value put where a field
 * name goes never reaches the trail.
 */
import type { Request, Response } from 'express';
import { isComparisonOperator } from '../../api/comparisons.js';
import { parseKeyword } from '../../api/filters.js';
import type { ModelSpec } from '../../api/models.js';
import { isPlainObject } from '../../shared/plain-object.js';
import { requestState } from '../logging.js';
import { requestClient } from '../request-client.js';

export type AuditAction =
  'create' | 'read' | 'search' | 'update' | 'delete' | 'link' | 'unlink' | 'read-links';

/** One line of the trail, in this key order. */
export interface AuditEvent {
  time: string;
  request_id: string;
  /** The caller's name; `null` when it is not known (401). */
  client: string | null;
  action: AuditAction;
  model: string;
  /** The record ids written, read or returned; for a refused request, the id it addressed. */
  ids: string[];
  /** A search's lookups as `"field operator"`, never their values. */
  lookups: string[];
  status: number;
  /** Link and unlink events only: the source name (never the source id). */
  source_name?: string;
}

/** What a record route is, for the trail. */
export interface AuditTarget {
  model: ModelSpec;
  action: AuditAction;
  /** The route's own query parameters (`limit`, `cursor`), which are not lookups. */
  queryParameters: readonly string[];
}

/** A request to a record route, as matched before anything else ran (so refusals are known too). */
export interface AuditedRequest {
  target: AuditTarget;
  /** The record id in the path, when it has the shape of one. */
  pathId: string[];
}

/** A record id as a URL path can name one (the FHIR id syntax); anything else a client typed is not logged. */
const idShape = /^[A-Za-z0-9\-.]{1,64}$/;
export const asId = (value: unknown): string[] =>
  typeof value === 'string' && idShape.test(value) ? [value] : [];

const lookup = (model: ModelSpec, field: unknown, operator: unknown): string[] =>
  typeof field === 'string' && Object.hasOwn(model.fields, field) && isComparisonOperator(operator)
    ? [`${field} ${operator}`]
    : [];

/** A search's lookups: the query string's keywords (GET), or the `_search` body's triples once it was read. */
function lookupsOf(req: Request, target: AuditTarget): string[] {
  if (target.action !== 'search') return [];
  if (req.method === 'POST') {
    const given = isPlainObject(req.body) ? req.body.lookups : undefined;
    if (!Array.isArray(given)) return [];
    return given.flatMap((l: unknown) =>
      Array.isArray(l) ? lookup(target.model, l[0], l[1]) : [],
    );
  }
  const keys = new Set(new URL(req.originalUrl, 'http://facade.invalid').searchParams.keys());
  return [...keys].flatMap((key) => {
    if (target.queryParameters.includes(key)) return [];
    try {
      const [field, operator] = parseKeyword(key);
      return lookup(target.model, field, operator);
    } catch {
      return [];
    }
  });
}

/** The ids of records in an answer body: a record, an array of records, or a page `{items}`. */
export function recordIds(body: unknown): string[] {
  if (Array.isArray(body))
    return body.flatMap((r: unknown) => (isPlainObject(r) ? asId(r.id) : []));
  if (!isPlainObject(body)) return [];
  return Array.isArray(body.items) ? recordIds(body.items) : asId(body.id);
}

/** The ids an answer is about: what it carries on success, else the record the path addressed (never a source id). */
function idsOf(req: Request, res: Response, audited: AuditedRequest, body: unknown): string[] {
  const ok = res.statusCode >= 200 && res.statusCode < 300;
  const { target, pathId } = audited;
  switch (target.action) {
    case 'search':
    case 'create':
      return ok ? recordIds(body) : [];
    case 'read':
      if (ok) return recordIds(body);
      return req.query.source === undefined ? pathId : [];
    case 'update':
      return ok ? recordIds(body) : pathId;
    default:
      return pathId;
  }
}

/** A link event's source name: from the link body once read, or the unlink query. */
function sourceNameOf(req: Request, target: AuditTarget): { source_name?: string } {
  if (target.action !== 'link' && target.action !== 'unlink') return {};
  const name: unknown =
    target.action === 'link'
      ? isPlainObject(req.body)
        ? req.body.source_name
        : undefined
      : req.query.source_name;
  return typeof name === 'string' ? { source_name: name } : {};
}

/**
 * The event of a request as answered now: `body` is the JSON answer when
 * one was given, `ids` the records of a streamed page.
 */
export function auditEvent(
  req: Request,
  res: Response,
  audited: AuditedRequest,
  answer: { body?: unknown; ids?: string[] },
): AuditEvent {
  const { target } = audited;
  return {
    time: new Date().toISOString(),
    request_id: requestState(res).requestId,
    client: res.statusCode === 401 ? null : requestClient(res).name,
    action: target.action,
    model: target.model.name,
    ids: answer.ids ?? idsOf(req, res, audited, answer.body),
    lookups: lookupsOf(req, target),
    status: res.statusCode,
    ...sourceNameOf(req, target),
  };
}
