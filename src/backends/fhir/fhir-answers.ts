/**
 * Owns reading a FHIR server's answers: what a bad response is (thrown as
 * `BadStorageResponseError`, never with the body: bodies hold patient data),
 * a resource of the type asked for, an OperationOutcome where 404/410/409
 * need one, and what a DELETE's OperationOutcome says happened.
 */
import type { Coding } from 'fhir/r4.js';
import { BadStorageResponseError } from '../../api/errors.js';
import { isPlainObject } from '../../shared/plain-object.js';
import type { HttpResponse } from '../../transport/http.js';
import { isFhirId } from './fhir-id.js';
import type { DeleteOutcome, ResourceJson } from './fhir-types.js';

/** Throws the bad-response error for `method` answered with `status`. */
export function badResponse(method: string, status: number, what = 'an unexpected status'): never {
  if (status === 401 || status === 403) {
    throw new BadStorageResponseError(
      `the FHIR server refused ${method} (${status}): check the auth configuration`,
      status,
    );
  }
  throw new BadStorageResponseError(
    `the FHIR server answered ${method} with ${what} (${status})`,
    status,
  );
}

/** The body as a resource of `type` (with the given `id` when one was asked for), else bad-response. */
export function expectResource(
  method: string,
  res: HttpResponse<unknown>,
  type: string,
  id?: string,
): ResourceJson {
  const body = res.body as ResourceJson | undefined;
  if (
    !isPlainObject(body) ||
    body.resourceType !== type ||
    !isFhirId(body.id) ||
    (id !== undefined && body.id !== id)
  ) {
    badResponse(method, res.status, `a body that is not the ${type} asked for`);
  }
  return body;
}

/**
 * 404/410 mean "no such resource" only from the FHIR server itself, which
 * says so in an OperationOutcome; any other body (a proxy's page, another
 * service behind a wrong base URL) is not an answer about the resource.
 */
export function expectOutcome(method: string, res: HttpResponse<unknown>): void {
  const body = res.body as { resourceType?: unknown } | undefined;
  if (!isPlainObject(body) || body.resourceType !== 'OperationOutcome') {
    badResponse(method, res.status, 'a body that is not an OperationOutcome');
  }
}

/**
 * A DELETE's answer (see `FhirRestClient#delete`): HAPI answers 200 in every
 * case and tells in the OperationOutcome's `hapi-fhir-storage-response-code`
 * whether something was deleted; 404/410 (other servers) also mean missing;
 * 409/412 mean a concurrent write won. `resent`: the DELETE was sent again
 * (an earlier answer was lost), so "already deleted" / 410 is our own delete.
 */
export function deleteOutcome(res: HttpResponse<unknown>, resent: boolean): DeleteOutcome {
  if (res.status === 404 || res.status === 410) {
    expectOutcome('DELETE', res);
    return resent && res.status === 410 ? 'deleted' : 'missing';
  }
  if (res.status === 409 || res.status === 412) {
    expectOutcome('DELETE', res);
    return { conflict: res.status };
  }
  if (res.status !== 200 && res.status !== 204 && res.status !== 202)
    badResponse('DELETE', res.status);
  if (res.body === undefined) return 'deleted';
  expectOutcome('DELETE', res);
  const codes: string[] = [];
  const issues = (res.body as { issue?: unknown }).issue;
  for (const issue of Array.isArray(issues)
    ? (issues as { severity?: unknown; details?: { coding?: Coding[] } }[])
    : []) {
    if (issue?.severity === 'error' || issue?.severity === 'fatal')
      badResponse('DELETE', res.status, 'an error OperationOutcome');
    for (const coding of issue?.details?.coding ?? [])
      if (typeof coding?.code === 'string') codes.push(coding.code);
  }
  if (codes.includes('SUCCESSFUL_DELETE_ALREADY_DELETED')) return resent ? 'deleted' : 'missing';
  if (codes.includes('SUCCESSFUL_DELETE_NOT_FOUND')) return 'missing';
  return 'deleted';
}
