/**
 * The conformance suite every backend must pass (the successor of the seed's
 * BackendTestMixin). It never assumes an empty store: every record it makes
 * carries a token unique to the run, and every filter it checks is narrowed
 * to that token, so it can run against a shared FHIR server.
 *
 * This module registers the suite; its parts are by subject: record-suite.ts (create, get,
 * filter), record-writes.ts (update, delete, validation), link-suite.ts (patient links),
 * models-under-test.ts, common-cases.ts and patient-cases.ts (the models, fixtures and
 * filter tables), support.ts (shared shapes and assertions).
 */
import { randomBytes } from 'node:crypto';
import type {
  HealthcareStorage,
  LookupValue,
  PatientRecord,
  ProviderRecord,
} from '../api/types.js';
import { linkSuite } from './link-suite.js';
import { patientUnderTest, providerUnderTest } from './models-under-test.js';
import { recordSuite } from './record-suite.js';
import { nodeTestRunner, type TestRunner } from './runner.js';

export interface ConformanceOptions {
  /** Defaults to node:test. */
  runner?: TestRunner;
  /** Called once after the suite, e.g. to close the storage or stop a server. */
  teardown?: (storage: HealthcareStorage) => Promise<void> | void;
}

/**
 * Registers the whole suite with the test runner.
 *
 * ```ts
 * import { runConformanceSuite } from 'healthcare-fhir/testing';
 * runConformanceSuite('MyStorage', () => new MyStorage());
 * ```
 */
export function runConformanceSuite(
  label: string,
  factory: () => HealthcareStorage | Promise<HealthcareStorage>,
  options: ConformanceOptions = {},
): void {
  const runner = options.runner ?? nodeTestRunner;
  const token = `cf${randomBytes(5).toString('hex')}`;
  let storage: HealthcareStorage | undefined;
  const getStorage = () => {
    if (!storage) throw new Error('the storage factory has not run');
    return storage;
  };

  runner.describe(`${label} conformance`, () => {
    runner.before(async () => {
      storage = await factory();
    });
    runner.after(async () => {
      if (storage && options.teardown) await options.teardown(storage);
    });
    const context = { runner, getStorage, token };
    runner.describe('patients', () => recordSuite(context, patientUnderTest));
    runner.describe('providers', () => recordSuite(context, providerUnderTest));
    runner.describe('patient links', () => linkSuite(context));
  });
}

export type { LookupValue, PatientRecord, ProviderRecord };
