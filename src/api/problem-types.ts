/**
 * The facade's problem kinds (RFC 9457 `type` URNs) and, for those that stand for one of the
 * library's errors, the error and the HTTP status: one table that the facade (http/problem.ts)
 * answers from and the facade's client (client/facade-connection.ts) reads errors back from.
 */
import type { StorageFailureKind } from './errors.js';

/** Problem `type` URIs of the facade's own problem kinds; plain HTTP errors use `about:blank`. */
export const problemTypes = {
  validation: 'urn:healthcare-fhir:problem:validation-error',
  /** A record (or link) that does not exist; an unknown route is `about:blank` 404. */
  notFound: 'urn:healthcare-fhir:problem:not-found',
  linkConflict: 'urn:healthcare-fhir:problem:link-conflict',
  writeConflict: 'urn:healthcare-fhir:problem:write-conflict',
  upstreamBadResponse: 'urn:healthcare-fhir:problem:storage-bad-response',
  upstreamUnreachable: 'urn:healthcare-fhir:problem:storage-unreachable',
  upstreamTimeout: 'urn:healthcare-fhir:problem:storage-timeout',
  notReady: 'urn:healthcare-fhir:problem:not-ready',
  /** A valid token without the scope the route needs (403). */
  forbidden: 'urn:healthcare-fhir:problem:forbidden',
  /** Over `RATE_LIMIT` or the per-client bound on requests in flight (429). */
  tooManyRequests: 'urn:healthcare-fhir:problem:too-many-requests',
  /** The OIDC issuer's key set cannot be fetched, so no token can be checked (503). */
  authUnavailable: 'urn:healthcare-fhir:problem:auth-unavailable',
  /** The audit trail could not be written: no record is returned (contract §6). */
  auditUnavailable: 'urn:healthcare-fhir:problem:audit-unavailable',
} as const;

export type ProblemType = (typeof problemTypes)[keyof typeof problemTypes];

/** A problem kind that stands for one of the library's errors: its type, title and status. */
export interface ErrorProblem {
  type: ProblemType;
  title: string;
  status: number;
}

/** `ValidationError` ↔ 400. */
export const validationProblem: ErrorProblem = {
  type: problemTypes.validation,
  title: 'Invalid request',
  status: 400,
};

/** `ConflictError` (a write that lost its races) ↔ 409. */
export const writeConflictProblem: ErrorProblem = {
  type: problemTypes.writeConflict,
  title: 'Write conflict',
  status: 409,
};

/** `StorageUnavailableError` of each kind ↔ 504, 503, 502. */
export const storageFailureProblems: Readonly<Record<StorageFailureKind, ErrorProblem>> = {
  timeout: { type: problemTypes.upstreamTimeout, title: 'Storage timed out', status: 504 },
  unreachable: {
    type: problemTypes.upstreamUnreachable,
    title: 'Storage unreachable',
    status: 503,
  },
  'bad-response': {
    type: problemTypes.upstreamBadResponse,
    title: 'Bad answer from storage',
    status: 502,
  },
};

/** The storage failure an answer's status stands for (any 503 is `unreachable`), if any. */
export function storageFailureKindOf(status: number): StorageFailureKind | undefined {
  const kinds = Object.keys(storageFailureProblems) as StorageFailureKind[];
  return kinds.find((kind) => storageFailureProblems[kind].status === status);
}
