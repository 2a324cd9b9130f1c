/**
 * `healthcare-fhir check <base-url> [lookup…]` against the real server at
 * FHIR_BASE_URL: its plan section prints what FhirStorage#explain finds there
 * (the server, `:exact`/`:contains` support as the server answers it, the
 * request for the lookups, whether an index serves each and a warning for each
 * scan), and a bad lookup is a failed section, not a crash.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { FhirStorage } from '../../src/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function check(...args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'check', baseUrl, ...args],
    { cwd: root, env: { ...process.env, FHIR_AUTH: 'none' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out })));
}

describe('healthcare-fhir check: server support and lookup plan (FHIR_BASE_URL)', () => {
  it('prints the server, :exact/:contains support as probed, the exact request explain names, and index or scan per lookup', async () => {
    const { code, out } = await check('name__like=Jo', 'sex=F', 'birth_date__gte=2000-01-01');
    assert.equal(code, 0, out);
    const explained = await new FhirStorage({ baseUrl }).explain('patient', [
      ['name', '%', 'Jo'],
      ['sex', '==', 'F'],
      ['birth_date', '>=', '2000-01-01'],
    ]);
    assert.match(out, /Server support and lookup plan/);
    assert.match(out, new RegExp(`FHIR ${explained.server.fhirVersion!.replace(/\./g, '\\.')}`));
    const containsName = explained.contains.name ? 'name yes' : 'name refused';
    assert.ok(out.includes(`:contains: ${containsName}`), out);
    const exactName = explained.exact.name ? 'name yes' : 'name refused';
    assert.ok(out.includes(`:exact: ${exactName}`), out);
    // name LIKE is a scan on every server (a substring scan, or the adapter's); sex is a token index
    assert.match(out, /name % "Jo"\n +server: .*\n +served: {2}by a scan/);
    assert.match(out, /sex == "F"\n +server: {2}gender=female\n +served: {2}from an index/);
    assert.match(out, /WARNING: scan: name %: /);
    assert.ok(out.includes(`request: ${explained.requests[0]} (then every next page)`), out);
    assert.ok(out.includes('server:  gender=female'), out);
  });

  it('a two-word name == says that it also reads every record with a name part equal to the last word, where the server takes :exact', async () => {
    const { code, out } = await check('name=Amina Okello');
    assert.equal(code, 0, out);
    const [explained] = (
      await new FhirStorage({ baseUrl }).explain('patient', [['name', '==', 'Amina Okello']])
    ).lookups;
    if (explained!.alsoReads.length) {
      assert.deepEqual(explained!.alsoReads, ['Okello']);
      assert.match(
        out,
        /name == "Amina Okello"\n +server: {2}name:exact=Amina Okello,Okello\n +served: {2}from an index\n +reads: {3}also every record with a name part "Okello" /,
      );
    } else {
      assert.equal(
        explained!.server.includes(':exact'),
        false,
        'no parts beyond the value without :exact',
      );
      assert.doesNotMatch(out, /reads: /);
    }
  });

  it('--model provider plans on Practitioner; a bad lookup fails the section with exit 1 and says why', async () => {
    const provider = await check('--model', 'provider', 'status=I');
    assert.equal(provider.code, 0, provider.out);
    assert.match(provider.out, /provider is Practitioner/);
    assert.match(provider.out, /server: {2}active=false/);
    const bad = await check('sex__near=F');
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /unknown operator suffix __near/);
  });
});
