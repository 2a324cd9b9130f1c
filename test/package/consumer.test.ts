/**
 * The package as a user gets it: built to dist/, installed into a scratch
 * project the way `npm install <path>` does (a link in node_modules), then
 * imported by name, types checked, the exported conformance suite run
 * against the scratch project's own storage, and the `healthcare-fhir` bin run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
let scratch: string;

before(async () => {
  await run('npm', ['run', 'build'], { cwd: root });
  scratch = await mkdtemp(join(tmpdir(), 'healthcare-fhir-consumer-'));
  await mkdir(join(scratch, 'node_modules'));
  await symlink(root, join(scratch, 'node_modules', 'healthcare-fhir'), 'dir');
  await writeFile(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', type: 'module' }),
  );
});

after(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

it('imports the public names from the package entry points', async () => {
  await writeFile(
    join(scratch, 'check.mjs'),
    `import { MemoryStorage, HealthcareAPI, comparisons, ValidationError, PatientDoesNotExist } from 'healthcare-fhir';
import { runConformanceSuite } from 'healthcare-fhir/testing';
const api = new HealthcareAPI(new MemoryStorage());
const p = await api.patients.create({ name: 'Ann' });
const found = await api.patients.filter({ name__like: 'An' });
console.log(JSON.stringify({ like: comparisons.LIKE, found: found.length, id: typeof p.id, suite: typeof runConformanceSuite, errors: [typeof ValidationError, typeof PatientDoesNotExist] }));`,
  );
  const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: scratch });
  assert.deepEqual(JSON.parse(stdout), {
    like: '%',
    found: 1,
    id: 'string',
    suite: 'function',
    errors: ['function', 'function'],
  });
});

it('ships declarations a TypeScript user can compile against', async () => {
  await writeFile(
    join(scratch, 'typed.ts'),
    `import { MemoryStorage, type HealthcareStorage, type PatientRecord, type Lookup, comparisons } from 'healthcare-fhir';
import { runConformanceSuite } from 'healthcare-fhir/testing';
const storage: HealthcareStorage = new MemoryStorage();
const lookup: Lookup = ['name', comparisons.LIKE, 'Jo'];
export async function names(): Promise<string[]> {
  const found: PatientRecord[] = await storage.filterPatients(lookup);
  return found.map((p) => p.name);
}
export const register: typeof runConformanceSuite = runConformanceSuite;
`,
  );
  await writeFile(
    join(scratch, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        noEmit: true,
        skipLibCheck: false,
        types: [],
      },
      files: ['typed.ts'],
    }),
  );
  await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', scratch], {
    cwd: scratch,
  });
});

it("runs the exported conformance suite against the scratch project's own storage", async () => {
  await writeFile(
    join(scratch, 'own-storage.test.mjs'),
    `import { MemoryStorage } from 'healthcare-fhir';
import { runConformanceSuite } from 'healthcare-fhir/testing';
class OwnStorage extends MemoryStorage {}
runConformanceSuite('OwnStorage', () => new OwnStorage());`,
  );
  // Without NODE_TEST_CONTEXT the child is a test run of its own, not a subtest stream of ours.
  const { NODE_TEST_CONTEXT: _ours, ...env } = process.env;
  const { stdout } = await run(
    process.execPath,
    ['--test', '--test-reporter=tap', 'own-storage.test.mjs'],
    { cwd: scratch, env },
  );
  const passed = Number(/^# pass (\d+)$/m.exec(stdout)?.[1]);
  assert.match(stdout, /^# fail 0$/m);
  assert.ok(passed > 150, `the whole suite ran (${passed} passed)`);
});

it('the build leaves the healthcare-fhir bin executable: run by its path and through a node_modules/.bin link, it answers with its usage', async () => {
  const { bin } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
  };
  const main = bin['healthcare-fhir']!;
  assert.equal((await stat(join(root, main))).mode & 0o755, 0o755, `${main} mode`);
  await mkdir(join(scratch, 'node_modules', '.bin'), { recursive: true });
  const linked = join(scratch, 'node_modules', '.bin', 'healthcare-fhir');
  await symlink(join('..', 'healthcare-fhir', main), linked);
  for (const command of [join(root, main), linked]) {
    // no command given: the usage on stderr and exit code 2 (a bin without its run bit: EACCES)
    const failure = await run(command, [], { cwd: scratch }).then(
      () => assert.fail(`${command} exited 0 without a command`),
      (error: unknown) => error as { code: unknown; stderr: string },
    );
    assert.equal(failure.code, 2, `${command}: ${String(failure.code)} ${failure.stderr}`);
    assert.match(failure.stderr, /^usage: healthcare-fhir <command>/);
  }
});
