/**
 * The one status ↔ error table (api/problem-types.ts): what the facade answers for an error
 * (http/problem.ts) is read back as the same error by the facade's client (client/facade-connection.ts).
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import {
  ConflictError,
  StorageUnavailableError,
  ValidationError,
  type StorageFailureKind,
} from '../../src/api/errors.js';
import { storageFailureProblems } from '../../src/api/problem-types.js';
import { FacadeConnection } from '../../src/client/facade-connection.js';
import { problemFor } from '../../src/http/problem.js';

const connection = new FacadeConnection({ baseUrl: 'http://127.0.0.1:9' });
/** The client's reading of the facade's problem document for `error`. */
function roundTrip(error: Error): Error {
  const problem = problemFor(error);
  return connection.failure(
    { status: problem.status, headers: new Headers(), body: JSON.parse(JSON.stringify(problem)) },
    'GET',
  );
}

it('each storage failure kind is answered with its status and type, and read back as that kind', () => {
  for (const kind of Object.keys(storageFailureProblems) as StorageFailureKind[]) {
    const problem = problemFor(new StorageUnavailableError(kind, 'secret detail', 500));
    assert.equal(problem.status, storageFailureProblems[kind].status, kind);
    assert.equal(problem.type, storageFailureProblems[kind].type, kind);
    const back = roundTrip(new StorageUnavailableError(kind, 'x'));
    assert.ok(back instanceof StorageUnavailableError, kind);
    assert.equal(back.kind, kind);
    assert.equal(back.upstreamStatus, problem.status);
  }
});

it('a ValidationError comes back with its issues, a ConflictError as a ConflictError', () => {
  const issues = [{ field: 'name', message: 'is required' }, { message: 'and more' }];
  const back = roundTrip(new ValidationError(issues));
  assert.ok(back instanceof ValidationError);
  assert.deepEqual(back.issues, issues);
  assert.ok(roundTrip(new ConflictError('lost')) instanceof ConflictError);
});
