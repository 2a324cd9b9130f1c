/**
 * The exact FHIR requests `healthcare-fhir import` sends: one search for any
 * resource with the tag of imports before the import-row identifier (`_count=1`), then per
 * batch one search for the batch's row identifiers and one transaction of
 * POSTs of the rows not found, nothing else (never a read of what else was
 * imported); rows of older imports are read once only when that search finds
 * one; a transaction whose answer is lost is looked for by its rows'
 * identifiers, and only the rows not found are sent again. nock stands in for
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
const legacyTag = 'urn:healthcare-fhir:import|patient';
const legacyExtension = 'https://healthcare-fhir.dev/fhir/StructureDefinition/import-row';
const rowSystem = 'urn:healthcare-fhir:import-row';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-import-unit-'));

useStrictNock();

interface Resource {
  resourceType: string;
  id?: string;
  meta: { tag: { system: string; code: string }[]; lastUpdated?: string };
  identifier?: { system: string; value: string }[];
  extension?: { url: string; valueString?: string }[];
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
  resource.identifier?.find((i) => i.system === rowSystem)?.value;

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

/** Expects the one search for any resource with the tag of older imports (unscoped, one match asked, no-cache), answering `found` of them. */
function expectLegacyProbe(found: readonly Resource[]) {
  nock(origin)
    .get('/fhir/Patient')
    .query({ _tag: legacyTag, _count: '1', _elements: 'id' })
    .matchHeader('cache-control', 'no-cache')
    .reply(200, searchset(found));
}

/**
 * Expects `times` searches for row identifiers (one OR-search each, scoped,
 * keyset-sorted, no-cache), recording the hashes each asks for and answering
 * with the resources of `held` that hold one of them.
 */
function expectRowSearches(asked: string[][], times: number, held: () => readonly Resource[]) {
  nock(origin)
    .get('/fhir/Patient')
    .query(true)
    .matchHeader('cache-control', 'no-cache')
    .times(times)
    .reply(200, (uri) => {
      const { identifier, ...rest } = Object.fromEntries(new URL(uri, origin).searchParams);
      assert.deepEqual(rest, {
        _elements: 'identifier,meta',
        _tag: scopeTag,
        _sort: '_lastUpdated',
        _count: '1000',
      });
      const values = String(identifier).split(',');
      for (const value of values) assert.match(value, new RegExp(`^${rowSystem}\\|[0-9a-f]{40}$`));
      const hashes = values.map((v) => v.slice(rowSystem.length + 1));
      asked.push(hashes);
      return searchset(held().filter((r) => hashes.includes(hashOf(r)!)));
    });
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

/** Does a first import of `file` (nothing there yet, one transaction per batch): what it stored. */
async function importFresh(file: string, batches: number): Promise<Resource[]> {
  expectLegacyProbe([]);
  expectRowSearches([], batches, () => []);
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

/**
 * Imports `rows` fresh rows in batches of 2 with `writers` writers, each
 * transaction answered only once the searches of `writers` batches more than
 * the writers hold have come in (the file's batches at most), or after 2 s:
 * per answer, how many searches had come in.
 */
async function importHoldingAnswers(rows: number, writers: number): Promise<number[]> {
  const batches = rows / 2;
  const asked: string[][] = [];
  expectLegacyProbe([]);
  expectRowSearches(asked, batches, () => []);
  const searchedBeforeAnswer: number[] = [];
  nock(origin)
    .post('/fhir', (body: { type: string }) => body.type === 'transaction')
    .times(batches)
    .reply(200, async (_uri, body) => {
      const searched = Math.min(searchedBeforeAnswer.length + 2 * writers, batches);
      for (let waited = 0; asked.length < searched && waited < 2000; waited += 10)
        await new Promise((resolve) => setTimeout(resolve, 10));
      searchedBeforeAnswer.push(asked.length);
      return created(store(bodyEntries(body)));
    });

  const result = await run([
    csv(`ahead-${writers}.csv`, rows),
    ...['--model', 'patient', '--batch-size', '2', '--concurrency', String(writers)],
  ]);

  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(result.summary, cleanSummary(rows, 0));
  return searchedBeforeAnswer;
}

describe('import: the FHIR requests it sends', () => {
  it('a fresh import of 45 rows in batches of 2 sends one search for any resource with the older import tag (_count=1), then per batch one search for its 2 row identifiers and one transaction of POSTs, each resource carrying the scope tag and its row identifier, nothing else', async () => {
    const sent: Entry[][] = [];
    const asked: string[][] = [];
    expectLegacyProbe([]);
    expectRowSearches(asked, 23, () => []);
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
        [scopeTag],
      );
      assert.equal(
        resource.extension?.some((e) => e.url === legacyExtension),
        false,
        'no row extension: the identifier is the mark',
      );
      assert.match(hashOf(resource) ?? '', /^[0-9a-f]{40}$/);
    }
    assert.equal(new Set(entries.map((e) => hashOf(e.resource))).size, 45, 'a hash per row');
    assert.deepEqual(
      asked.flat().sort(),
      entries.map((e) => hashOf(e.resource)).sort(),
      'each row was looked up once, by its hash',
    );
    assert.deepEqual(
      entries.map((e) => nameOf(e.resource)).sort(),
      Array.from({ length: 45 }, (_, i) => `Row${i} Unit`).sort(),
    );
  });

  it("with one writer, each batch's row identifiers are searched for while the transaction before it is still unanswered", async () => {
    const searchedBeforeAnswer = await importHoldingAnswers(6, 1);
    assert.deepEqual(searchedBeforeAnswer, [2, 3, 3]);
  });

  it('with two writers, the row identifiers of the two batches after theirs are searched for before either transaction is answered', async () => {
    const searchedBeforeAnswer = await importHoldingAnswers(10, 2);
    assert.equal(
      searchedBeforeAnswer[0],
      4,
      'searches sent when the first transaction was answered',
    );
  });

  it("a re-run looks up each batch's row identifiers and sends a transaction of only the rows none of the answers holds (none for a batch found whole)", async () => {
    const file = csv('rerun.csv', 5);
    const stored = await importFresh(file, 1);
    // rows 2 and 4 are gone since (deleted): the server holds rows 0, 1 and 3
    const left = stored.filter((r) => !['Row2 Unit', 'Row4 Unit'].includes(nameOf(r)));

    expectLegacyProbe([]);
    const asked: string[][] = [];
    expectRowSearches(asked, 3, () => left);
    const sent: Entry[][] = [];
    expectTransactions(sent, 2);

    const result = await run([file, '--model', 'patient', '--batch-size', '2']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(2, 3));
    assert.deepEqual(asked.map((hashes) => hashes.length).sort(), [1, 2, 2]);
    assert.deepEqual(sent.map((batch) => batch.map((e) => nameOf(e.resource))).sort(), [
      ['Row2 Unit'],
      ['Row4 Unit'],
    ]);
    const gone = stored.filter((r) => !left.includes(r)).map(hashOf);
    assert.deepEqual(
      sent.map((batch) => hashOf(batch[0]!.resource)).sort(),
      gone.sort(),
      'the same row hashes as the first run',
    );
  });

  it('records of an import before the identifier (tag and extension) are read once (scoped) when the probe finds one, and their rows are neither looked up nor written', async () => {
    const file = csv('legacy.csv', 3);
    const stored = await importFresh(file, 1);
    // the server holds row 1 as an older import wrote it
    const old = stored.find((r) => nameOf(r) === 'Row1 Unit')!;
    const legacy: Resource = {
      ...old,
      identifier: undefined,
      meta: { ...old.meta, tag: [{ system: 'urn:healthcare-fhir:import', code: 'patient' }] },
      extension: [{ url: legacyExtension, valueString: hashOf(old)! }],
    };
    expectLegacyProbe([legacy]);
    nock(origin)
      .get('/fhir/Patient')
      .query({
        _tag: [legacyTag, scopeTag],
        _elements: 'meta,extension',
        _sort: '_lastUpdated',
        _count: '1000',
      })
      .matchHeader('cache-control', 'no-cache')
      .reply(200, searchset([legacy]));
    const asked: string[][] = [];
    expectRowSearches(asked, 1, () => []);
    const sent: Entry[][] = [];
    expectTransactions(sent, 1);

    const result = await run([file, '--model', 'patient']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(2, 1));
    assert.equal(asked.flat().includes(hashOf(old)!), false, 'the older row is not looked up');
    assert.deepEqual(
      sent.map((batch) => batch.map((e) => nameOf(e.resource))),
      [['Row0 Unit', 'Row2 Unit']],
    );
  });

  it("a lost transaction answer is followed by one search for that batch's row identifiers, and only the rows not found are sent again", async () => {
    expectLegacyProbe([]);
    const asked: string[][] = [];
    let lostStored: Resource[] = [];
    expectRowSearches(asked, 2, () => lostStored);
    let lost: Entry[] = [];
    nock(origin)
      .post('/fhir', (body: { type: string; entry: Entry[] }) => {
        lost = body.entry;
        return body.type === 'transaction';
      })
      .reply(() => {
        // the server wrote rows 0 and 1 of the three, and the answer is lost
        lostStored = store(lost.slice(0, 2));
        return [502, 'Bad Gateway'];
      });
    const resent: Entry[][] = [];
    expectTransactions(resent, 1);

    const result = await run([csv('lost.csv', 3), '--model', 'patient', '--batch-size', '3']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, cleanSummary(3, 0));
    assert.deepEqual(
      asked.map((hashes) => hashes.length),
      [3, 3],
      'the batch was looked up before sending and once after the lost answer',
    );
    assert.deepEqual(
      resent.map((batch) => batch.map((e) => nameOf(e.resource))),
      [['Row2 Unit']],
    );
    assert.equal(hashOf(resent[0]![0]!.resource), hashOf(lost[2]!.resource));
  });

  it('a refused transaction is sent again as a batch and the entry the server rejects is reported by its line', async () => {
    expectLegacyProbe([]);
    expectRowSearches([], 1, () => []);
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
