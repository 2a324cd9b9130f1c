/**
 * The exact FHIR requests `healthcare-fhir import` sends: a fresh import is
 * one `_summary=count` search for the import tag and one transaction of POSTs
 * per batch, nothing else; a re-run reads the import-tagged resources once
 * and writes only the rows whose hash none of them holds; a transaction whose
 * answer is lost is looked for among what was imported since just before it
 * was sent, and only the rows not found are sent again. nock stands in for
 * the server here only; the import is tested end to end against HAPI in
 * test/integration/import-export.test.ts.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import nock from 'nock';
import { runImport } from '../../src/cli/import.js';
import { useStrictNock } from '../support/strict-nock.js';

const origin = 'http://fhir.test';
const scopeTag = 'urn:test:scope|run-1';
const env = { FHIR_BASE_URL: `${origin}/fhir`, FHIR_SCOPE_TAG: scopeTag };
const importTag = 'urn:healthcare-fhir:import|patient';
const rowExtension = 'https://healthcare-fhir.dev/fhir/StructureDefinition/import-row';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-import-unit-'));

useStrictNock();

interface Resource {
  resourceType: string;
  id?: string;
  meta: { tag: { system: string; code: string }[]; lastUpdated?: string };
  extension: { url: string; valueString?: string }[];
  name: { text: string }[];
}
interface Entry {
  request: { method: string; url: string };
  resource: Resource;
}

function csv(name: string, rows: number): string {
  const file = path.join(dir, name);
  const lines = ['name,sex,birth_date'];
  for (let i = 0; i < rows; i++) lines.push(`Row${i} Unit,F,1990-01-01`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

async function run(args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runImport(args, env, {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, summary: JSON.parse(stdout) as Record<string, unknown>, stderr };
}

/** The summary of a run with nothing invalid, failed, repeated or linked. */
const cleanSummary = (written: number, alreadyPresent: number) => ({
  written,
  skipped: { already_present: alreadyPresent, repeated_in_file: 0 },
  invalid: 0,
  failed: 0,
  links_created: 0,
});

const nameOf = (resource: Resource) => resource.name[0]!.text;
const hashOf = (resource: Resource) =>
  resource.extension.find((e) => e.url === rowExtension)?.valueString;

/** A reply function's request body's entries (nock passes the body raw). */
const bodyEntries = (body: unknown): Entry[] =>
  ((typeof body === 'string' ? JSON.parse(body) : body) as { entry: Entry[] }).entry;

let nextId = 1;
/** Stores the entries' resources as the server would (an id, a lastUpdated). */
const store = (entries: readonly Entry[]): Resource[] =>
  entries.map((e) => ({
    ...e.resource,
    id: String(nextId++),
    meta: { ...e.resource.meta, lastUpdated: new Date().toISOString() },
  }));

/** A transaction-response creating these stored resources, in order. */
const created = (stored: readonly Resource[]) => ({
  resourceType: 'Bundle',
  type: 'transaction-response',
  entry: stored.map((r) => ({
    response: { status: '201 Created', location: `Patient/${r.id}/_history/1` },
  })),
});

const searchset = (resources: readonly Resource[]) => ({
  resourceType: 'Bundle',
  type: 'searchset',
  entry: resources.map((resource) => ({ resource, search: { mode: 'match' } })),
});

/** Expects the one count search for the import tag (scoped, no-cache), answering `total`. */
function expectCount(total: number, headers: Record<string, string> = {}) {
  nock(origin)
    .get('/fhir/Patient')
    .query({ _tag: [importTag, scopeTag], _summary: 'count' })
    .matchHeader('cache-control', 'no-cache')
    .reply(200, { resourceType: 'Bundle', type: 'searchset', total }, headers);
}

/** Expects transactions, `times` of them, storing what they POST into `sent`. */
function expectTransactions(sent: Entry[][], times: number) {
  nock(origin)
    .post('/fhir', (body: { type: string }) => body.type === 'transaction')
    .times(times)
    .reply(200, (_uri, body) => {
      const entries = bodyEntries(body);
      sent.push(entries);
      return created(store(entries));
    });
}

/** Does a first import of `file` (count 0, one transaction per batch): what it stored. */
async function importFresh(file: string, batches: number): Promise<Resource[]> {
  expectCount(0);
  const stored: Resource[] = [];
  nock(origin)
    .post('/fhir', (body: { type: string }) => body.type === 'transaction')
    .times(batches)
    .reply(200, (_uri, body) => {
      const batch = store(bodyEntries(body));
      stored.push(...batch);
      return created(batch);
    });
  const result = await run([file, '--model', 'patient']);
  assert.equal(result.code, 0, result.stderr);
  return stored;
}

describe('import: the FHIR requests it sends', () => {
  it('a fresh import of 45 rows in batches of 2 sends one count search for the import tag (scoped, no-cache) and 23 transactions of POSTs, each resource carrying the scope tag, the import tag and its row hash, nothing else', async () => {
    const sent: Entry[][] = [];
    expectCount(0);
    expectTransactions(sent, 23);

    const result = await run([csv('fresh.csv', 45), '--model', 'patient', '--batch-size', '2']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(45, 0));
    assert.deepEqual(
      sent.map((batch) => batch.length),
      [...Array<number>(22).fill(2), 1],
    );
    const entries = sent.flat();
    for (const { request, resource } of entries) {
      assert.deepEqual(request, { method: 'POST', url: 'Patient' });
      assert.equal(resource.id, undefined, 'the server assigns the id');
      assert.deepEqual(
        resource.meta.tag.map((t) => `${t.system}|${t.code}`),
        [scopeTag, importTag],
      );
      assert.match(hashOf(resource) ?? '', /^[0-9a-f]{40}$/);
    }
    assert.equal(new Set(entries.map((e) => hashOf(e.resource))).size, 45, 'a hash per row');
    assert.deepEqual(
      entries.map((e) => nameOf(e.resource)).sort(),
      Array.from({ length: 45 }, (_, i) => `Row${i} Unit`).sort(),
    );
  });

  it('a re-run sends the count search, reads the import-tagged resources once (scoped, _elements=meta,extension, keyset-sorted) and one transaction of only the rows whose hash none of them holds', async () => {
    const file = csv('rerun.csv', 5);
    const stored = await importFresh(file, 1);
    // rows 2 and 4 are gone since (deleted): the server holds rows 0, 1 and 3
    const left = stored.filter((r) => !['Row2 Unit', 'Row4 Unit'].includes(nameOf(r)));

    expectCount(3);
    nock(origin)
      .get('/fhir/Patient')
      .query({
        _tag: [importTag, scopeTag],
        _elements: 'meta,extension',
        _sort: '_lastUpdated',
        _count: '200',
      })
      .matchHeader('cache-control', 'no-cache')
      .reply(200, searchset(left));
    const sent: Entry[][] = [];
    expectTransactions(sent, 1);

    const result = await run([file, '--model', 'patient', '--batch-size', '2']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(2, 3));
    assert.deepEqual(
      sent.map((batch) => batch.map((e) => nameOf(e.resource))),
      [['Row2 Unit', 'Row4 Unit']],
    );
    const gone = stored.filter((r) => !left.includes(r)).map(hashOf);
    assert.deepEqual(
      sent[0]!.map((e) => hashOf(e.resource)),
      gone,
      'the same row hashes as the first run',
    );
  });

  it("a lost transaction answer is followed by one search for import-tagged resources with _lastUpdated=ge the server's time (its Date header) less a second, and only the rows not found are sent again", async () => {
    const serverTime = Date.parse('2031-05-06T07:08:09Z'); // the server's clock is far from ours
    const ourStart = Date.now();
    expectCount(0, { date: new Date(serverTime).toUTCString() });
    let lost: Entry[] = [];
    nock(origin)
      .post('/fhir', (body: { type: string; entry: Entry[] }) => {
        lost = body.entry;
        return body.type === 'transaction';
      })
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    let since = '';
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => {
        since = String(query._lastUpdated).replace(/^ge/, '');
        assert.deepEqual(
          { ...query },
          {
            _tag: [importTag, scopeTag],
            _elements: 'meta,extension',
            _lastUpdated: `ge${since}`,
            _sort: '_lastUpdated',
            _count: '200',
          },
        );
        return true;
      })
      .matchHeader('cache-control', 'no-cache')
      // the search finds rows 0 and 1 of the three (written by the lost request)
      .reply(200, () => searchset(store(lost.slice(0, 2))));
    const resent: Entry[][] = [];
    expectTransactions(resent, 1);

    const result = await run([csv('lost.csv', 3), '--model', 'patient', '--batch-size', '3']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(3, 0));
    const elapsed = Date.now() - ourStart;
    const bound = Date.parse(since);
    assert.ok(
      bound >= serverTime - 1000 && bound <= serverTime - 1000 + elapsed + 1000,
      `the bound ${since} is the server's time of sending less a second`,
    );
    assert.deepEqual(
      resent.map((batch) => batch.map((e) => nameOf(e.resource))),
      [['Row2 Unit']],
    );
    assert.equal(hashOf(resent[0]![0]!.resource), hashOf(lost[2]!.resource));
  });

  it('a refused transaction is sent again as a batch and the entry the server rejects is reported by its line', async () => {
    expectCount(0);
    nock(origin)
      .post('/fhir', (body: { type: string }) => body.type === 'transaction')
      .reply(400, { resourceType: 'OperationOutcome', issue: [] });
    nock(origin)
      .post('/fhir', (body: { type: string }) => body.type === 'batch')
      .reply(200, (_uri, body) => ({
        resourceType: 'Bundle',
        type: 'batch-response',
        entry: bodyEntries(body).map((e, i) =>
          nameOf(e.resource) === 'Row1 Unit'
            ? { response: { status: '400 Bad Request' } }
            : { response: { status: '201 Created', location: `Patient/b${i}/_history/1` } },
        ),
      }));

    const result = await run([csv('refused.csv', 3), '--model', 'patient']);

    assert.equal(result.code, 1);
    assert.equal(result.summary.written, 2);
    assert.equal(result.summary.failed, 1);
    assert.match(result.stderr, /failed line 3: the server answered 400 Bad Request/);
  });
});
