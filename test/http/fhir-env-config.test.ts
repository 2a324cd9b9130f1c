/**
 * The facade's FhirStorage settings by environment (MAPPINGS_DIR,
 * FHIR_TIMEOUT_MS, FHIR_PAGE_SIZE, FHIR_SCOPE_TAG, FHIR_IDENTIFIER_SYSTEMS):
 * read and checked at start-up (a bad value stops the process with a message
 * naming the variable), and applied, shown on the real FHIR server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { readConfig, startServer, type RunningServer } from '../../src/server.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { silentLogger } from './helpers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

describe('facade FhirStorage settings: reading and checking', () => {
  it('reads MAPPINGS_DIR, FHIR_TIMEOUT_MS, FHIR_PAGE_SIZE, FHIR_SCOPE_TAG, FHIR_IDENTIFIER_SYSTEMS', () => {
    const config = readConfig({
      MAPPINGS_DIR: 'mappings',
      FHIR_TIMEOUT_MS: '2500',
      FHIR_PAGE_SIZE: '50',
      FHIR_SCOPE_TAG: 'urn:example:tenant|clinic-1',
      FHIR_IDENTIFIER_SYSTEMS:
        'mrn=http://hospital.example/mrn, nhs = https://fhir.nhs.uk/Id/nhs-number',
    });
    assert.deepEqual(config.fhirStorage, {
      mappingsDir: path.resolve('mappings'),
      timeoutMs: 2500,
      pageSize: 50,
      scopeTag: { system: 'urn:example:tenant', code: 'clinic-1' },
      identifierSystems: {
        mrn: 'http://hospital.example/mrn',
        nhs: 'https://fhir.nhs.uk/Id/nhs-number',
      },
    });
  });

  it('unset: no options, so FhirStorage keeps its defaults', () => {
    assert.deepEqual(readConfig({}).fhirStorage, {});
  });

  const bad: [string, Record<string, string>, RegExp][] = [
    ['a missing MAPPINGS_DIR', { MAPPINGS_DIR: '/nonexistent/mappings' }, /MAPPINGS_DIR/],
    ['MAPPINGS_DIR naming a file', { MAPPINGS_DIR: 'package.json' }, /MAPPINGS_DIR/],
    ['FHIR_TIMEOUT_MS not a number', { FHIR_TIMEOUT_MS: 'soon' }, /FHIR_TIMEOUT_MS/],
    ['FHIR_TIMEOUT_MS zero', { FHIR_TIMEOUT_MS: '0' }, /FHIR_TIMEOUT_MS/],
    ['FHIR_PAGE_SIZE a fraction', { FHIR_PAGE_SIZE: '2.5' }, /FHIR_PAGE_SIZE/],
    ['FHIR_PAGE_SIZE negative', { FHIR_PAGE_SIZE: '-1' }, /FHIR_PAGE_SIZE/],
    ['FHIR_SCOPE_TAG without a bar', { FHIR_SCOPE_TAG: 'clinic-1' }, /FHIR_SCOPE_TAG/],
    ['FHIR_SCOPE_TAG without a code', { FHIR_SCOPE_TAG: 'urn:x|' }, /FHIR_SCOPE_TAG/],
    [
      'FHIR_IDENTIFIER_SYSTEMS without =',
      { FHIR_IDENTIFIER_SYSTEMS: 'mrn' },
      /FHIR_IDENTIFIER_SYSTEMS/,
    ],
    [
      'FHIR_IDENTIFIER_SYSTEMS with a system that is not a URI',
      { FHIR_IDENTIFIER_SYSTEMS: 'mrn=hospital mrn' },
      /FHIR_IDENTIFIER_SYSTEMS/,
    ],
    [
      'FHIR_IDENTIFIER_SYSTEMS naming a source twice',
      { FHIR_IDENTIFIER_SYSTEMS: 'mrn=urn:a,mrn=urn:b' },
      /FHIR_IDENTIFIER_SYSTEMS/,
    ],
  ];
  for (const [title, env, message] of bad) {
    it(`rejects ${title}`, () => {
      assert.throws(() => readConfig(env), message);
    });
  }

  it('the memory backend ignores them (they configure FhirStorage only)', () => {
    assert.deepEqual(
      readConfig({ HEALTHCARE_STORAGE_BACKEND: 'memory', FHIR_PAGE_SIZE: 'x' }).fhirStorage,
      {},
    );
  });

  it('a facade started with a bad value exits non-zero before listening, naming the variable', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        FHIR_BASE_URL: 'http://127.0.0.1:9/fhir',
        FHIR_PAGE_SIZE: 'lots',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(output, /FHIR_PAGE_SIZE must be a positive whole number/);
    assert.doesNotMatch(output, /listening/);
  });
});

describe('facade FhirStorage settings: applied on the real FHIR server', () => {
  const baseUrl = requireFhirBaseUrl();
  const run = randomBytes(5).toString('hex');
  const mappingsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-mappings-'));
  let running: RunningServer | undefined;
  after(async () => {
    await running?.shutdown();
    fs.rmSync(mappingsDir, { recursive: true, force: true });
  });

  it('scope tag, identifier systems and a mappings directory of its own reach FHIR', async () => {
    // location kept in the address's state instead of its city: only MAPPINGS_DIR can say so
    for (const file of ['patient.json', 'practitioner.json']) {
      const mapping = JSON.parse(fs.readFileSync(path.join(root, 'mappings', file), 'utf8'));
      mapping.fields.location = {
        element: 'address[0].state',
        type: 'string',
        search: 'address-state',
      };
      fs.writeFileSync(path.join(mappingsDir, file), JSON.stringify(mapping));
    }
    const config = readConfig({
      PORT: '0',
      FHIR_BASE_URL: baseUrl,
      MAPPINGS_DIR: mappingsDir,
      FHIR_TIMEOUT_MS: '30000',
      FHIR_PAGE_SIZE: '2',
      FHIR_SCOPE_TAG: `urn:healthcare-fhir:test-run|${run}`,
      FHIR_IDENTIFIER_SYSTEMS: `mrn=http://hospital.example/mrn-${run}`,
    });
    running = await startServer({ ...config, host: '127.0.0.1' }, { logger: silentLogger() });
    const post = async (route: string, body: unknown) =>
      fetch(`${running!.url}${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const created = (await (
      await post('/patients', { name: `Env ${run}`, location: 'Busia' })
    ).json()) as {
      id: string;
    };
    assert.equal(
      (await post(`/patients/${created.id}/links`, { source_id: 'M-1', source_name: 'mrn' }))
        .status,
      201,
    );
    const stored = (await (
      await fetch(`${baseUrl}/Patient/${created.id}`, {
        headers: { accept: 'application/fhir+json' },
      })
    ).json()) as Record<string, unknown> & { meta: { tag: unknown[] } };
    assert.deepEqual(stored.address, [{ state: 'Busia' }], 'MAPPINGS_DIR was used');
    assert.deepEqual(stored.identifier, [
      { system: `http://hospital.example/mrn-${run}`, value: 'M-1' },
    ]);
    assert.ok(
      stored.meta.tag.some(
        (t) =>
          JSON.stringify(t) ===
          JSON.stringify({ system: 'urn:healthcare-fhir:test-run', code: run }),
      ),
      'FHIR_SCOPE_TAG was written',
    );
    for (let i = 0; i < 4; i++) await post('/patients', { name: `Env ${run} ${i}` });
    const all = (await (await fetch(`${running.url}/patients`)).json()) as unknown[];
    assert.equal(
      all.length,
      5,
      'the scope holds exactly this run’s five patients, read in pages of 2',
    );
  });
});
