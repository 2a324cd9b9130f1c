import * as nodeTest from 'node:test';

/**
 * The few test-runner functions the suite needs. node:test is the default;
 * Vitest or Jest users pass `{ describe, it, before: beforeAll, after: afterAll }`.
 */
export interface TestRunner {
  describe(name: string, fn: () => void): unknown;
  it(name: string, fn: () => Promise<void> | void): unknown;
  before(fn: () => Promise<void> | void): unknown;
  after(fn: () => Promise<void> | void): unknown;
}

export const nodeTestRunner: TestRunner = {
  describe: (name, fn) => nodeTest.describe(name, fn),
  it: (name, fn) => nodeTest.it(name, async () => fn()),
  before: (fn) => nodeTest.before(async () => fn()),
  after: (fn) => nodeTest.after(async () => fn()),
};
