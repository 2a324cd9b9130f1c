/**
 * Owns the shape of a facade route (contract §3): the `RouteSpec` every entry
 * of the route table has (its OpenAPI operation, the request shape the
 * facade checks, its handler), what a handler is given, and the body
 * envelopes' JSON Schema.
 */
import type { Request, Response } from 'express';
import type { ModelSpec } from '../api/models.js';
import type { HealthcareStorage, Lookup } from '../api/types.js';
import type { Permission } from './scopes.js';
import type { Schema } from './schemas.js';

export type Method = 'get' | 'post' | 'patch' | 'delete';

/** A query parameter a route takes (at most once each). */
export interface QueryParameter {
  name: string;
  required?: boolean;
  description?: string;
  schema: Schema;
}

/**
 * What the facade itself checks of a JSON body: an object holding only these
 * members. Record bodies have no envelope: the storage checks them, once.
 */
export interface Envelope {
  /** The detail when the body is not a JSON object. */
  notAnObject: string;
  /** The issue message of a member that is not one of `members`. */
  unknownMember: string;
  members: Readonly<
    Record<
      string,
      { schema: Schema; required?: boolean; /** issue if not an array */ array?: string }
    >
  >;
}

export interface BodySpec {
  /** The accepted media types (another is 415). */
  types: readonly string[];
  /** Its schema's name in `components.schemas`. */
  schema: string;
  description?: string;
  envelope?: Envelope;
}

/** Lookup keywords of a query string (`name__like=Jo`), in the order given, with the key of each. */
export interface KeywordLookups {
  lookups: Lookup[];
  keys: string[];
}

/** A request that passed the route's shape check, as a handler sees it. */
export interface RouteCall {
  req: Request;
  res: Response;
  params: Record<string, string>;
  query: ReadonlyMap<string, string>;
  keywordLookups: KeywordLookups;
  body: unknown;
}

/** What handlers need of the running app. */
export interface RouteContext {
  storage: HealthcareStorage;
  readyTimeoutMs: number;
  openApiJson: string;
}

/** Error statuses a route documents (the OpenAPI document adds 401 when tokens are set). */
export type ErrorCode =
  '400' | '404' | '409' | '413' | '415' | '500' | '501' | '502' | '503' | '504';

export interface RouteSpec {
  method: Method;
  /** The OpenAPI path template, e.g. `/patients/{id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** Descriptions of the path parameters. */
  pathParameters?: Readonly<Record<string, string>>;
  query?: readonly QueryParameter[];
  /** Other query parameters are lookup keywords on this model. */
  lookups?: ModelSpec;
  body?: BodySpec;
  /** Success responses, by status. */
  responses: Readonly<Record<string, Schema>>;
  errors: readonly ErrorCode[];
  /** Also documents the storage failures (500, 502, 503, 504); default true. */
  usesStorage?: boolean;
  /** Served without a bearer token. */
  public?: boolean;
  /** The SMART permission the route needs on a resource type (contract §6); none: any authenticated caller. */
  access?: { resourceType: string; permission: Permission };
  handle(call: RouteCall, context: RouteContext): Promise<void> | void;
}

/** The routes and the component schemas they refer to. */
export interface FacadeApi {
  routes: RouteSpec[];
  schemas: Record<string, Schema>;
  tags: string[];
}

/** The media types a JSON body route accepts. */
export const jsonTypes: readonly string[] = ['application/json'];

export const json = (schema: Schema): Schema => ({ 'application/json': { schema } });

/** The JSON Schema of an envelope body. */
export function envelopeSchema(envelope: Envelope): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [name, member] of Object.entries(envelope.members)) {
    properties[name] = member.schema;
    if (member.required) required.push(name);
  }
  return {
    type: 'object',
    properties,
    ...(required.length ? { required } : {}),
    additionalProperties: false,
  };
}
