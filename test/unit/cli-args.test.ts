/** The CLI's one argument parser (cli/options.ts parseArgs), as `check`, `import` and `export` use it. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { parseCheckArgs } from '../../src/cli/check/index.js';
import { CliError, parseArgs, single } from '../../src/cli/options.js';

it('parseArgs reads --name value, --name=value, repeats, flags and positionals in order', () => {
  const parsed = parseArgs(
    ['a.csv', '--model', 'patient', '--link-column=x=y', '--install', '--link-column', 'z=w', 'b'],
    ['model', 'link-column'],
    ['install'],
  );
  assert.deepEqual(parsed.positionals, ['a.csv', 'b']);
  assert.deepEqual(parsed.options.get('link-column'), ['x=y', 'z=w']);
  assert.equal(single(parsed, 'model'), 'patient');
  assert.deepEqual([...parsed.flags], ['install']);
});

it('parseArgs refuses an unknown option, a missing value and a flag given a value, as CliErrors', () => {
  const usage = (message: RegExp) => (error: unknown) =>
    error instanceof CliError && message.test(error.message);
  assert.throws(
    () => parseArgs(['--nope'], ['model'], ['install']),
    usage(/^unknown option --nope \(options: --model, --install\)$/),
  );
  assert.throws(() => parseArgs(['--model'], ['model']), usage(/--model needs a value/));
  assert.throws(() => parseArgs(['--install=yes'], ['model'], ['install']), CliError);
});

it('check: base URL, --model (either form), --install and lookups; patient by default', () => {
  const context = parseCheckArgs(
    ['http://127.0.0.1:1/fhir', '--model=provider', 'status=I', '--install'],
    {},
  );
  assert.equal(context.baseUrl, 'http://127.0.0.1:1/fhir');
  assert.equal(context.model, 'provider');
  assert.equal(context.install, true);
  assert.deepEqual(context.lookups, ['status=I']);
  const plain = parseCheckArgs(['http://127.0.0.1:1/fhir', 'name=Jo'], {});
  assert.equal(plain.model, 'patient');
  assert.equal(plain.install, false);
});

it('check: a model other than patient or provider, or no base URL, is a usage error', () => {
  assert.throws(() => parseCheckArgs(['http://127.0.0.1:1/fhir', '--model', 'x'], {}), CliError);
  assert.throws(() => parseCheckArgs(['--install'], {}), /usage: healthcare-fhir check/);
});
