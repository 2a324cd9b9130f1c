/**
 * The exact FHIR requests `healthcare-fhir import` sends: a fresh import is
 * one `_summary=count` search per 20 batches and one transaction of POSTs per
 * batch, nothing else; a resumed one fetches a batch's tagged resources and
 * writes only the rows none of them holds. nock stands in for the server here
 * only; the import is tested end to end against HAPI in
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
const env = {
  FHIR_BASE_URL: `${origin}/fhir`,
  FHIR_SCOPE_TAG: 'urn:test:scope|run-1',
};
const scopeTag = 'urn:test:scope|run-1';
const batchSystem = 'urn:healthcare-fhir:import-batch';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-import-unit-'));

useStrictNock();

interface Entry {
  request: { method: string; url: string };
  resource: {
    resourceType: string;
    id?: string;
    meta: { tag: { system: string; code: string }[] };
    name: { text: string }[];
  };
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

/** The import-batch tags a count search asks about, after checking the rest of its query. */
function countedTags(query: Record<string, string | string[]>): string[] {
  assert.equal(query._summary, 'count');
  const [batchTags, scope] = query._tag as string[];
  assert.equal(scope, scopeTag, 'ANDed with the scope tag');
  return batchTags!.split(',').map((tag) => {
    const [system, code] = tag.split('|');
    assert.equal(system, batchSystem);
    assert.match(code!, /^[0-9a-f]{40}$/);
    return code!;
  });
}

const batchTagOf = (entry: Entry) =>
  entry.resource.meta.tag.find((t) => t.system === batchSystem)?.code;

/** A reply function's request body's entries (nock passes the body raw). */
const bodyEntries = (body: unknown): Entry[] =>
  ((typeof body === 'string' ? JSON.parse(body) : body) as { entry: Entry[] }).entry;

let nextId = 1;
/** A transaction-response (or batch-response) creating every entry, or answering `status` for some. */
function created(
  entries: readonly Entry[],
  status: (entry: Entry) => string = () => '201 Created',
) {
  return {
    resourceType: 'Bundle',
    type: 'transaction-response',
    entry: entries.map((entry) => {
      const answer = status(entry);
      return {
        response: answer.startsWith('201')
          ? { status: answer, location: `Patient/${nextId++}/_history/1` }
          : { status: answer },
      };
    }),
  };
}

describe('import: the FHIR requests it sends', () => {
  it('a fresh import of 45 rows in batches of 2 sends 2 count searches (20 and 3 batch tags, ANDed with the scope tag) and 23 transactions of POSTs, nothing else', async () => {
    const counted: string[][] = [];
    const written: Entry[][] = [];
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => {
        counted.push(countedTags(query as Record<string, string[]>));
        return true;
      })
      .times(2)
      .matchHeader('cache-control', 'no-cache')
      .reply(200, { resourceType: 'Bundle', type: 'searchset', total: 0 });
    nock(origin)
      .post('/fhir', (body: { type: string; entry: Entry[] }) => {
        assert.equal(body.type, 'transaction');
        written.push(body.entry);
        return true;
      })
      .times(23)
      .reply(200, (_uri, body) => created(bodyEntries(body)));

    const result = await run([csv('fresh.csv', 45), '--model', 'patient', '--batch-size', '2']);

    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(result.summary, {
      written: 45,
      skipped: { already_present: 0, repeated_in_file: 0 },
      invalid: 0,
      failed: 0,
      links_created: 0,
    });
    assert.deepEqual(
      counted.map((tags) => tags.length),
      [20, 3],
    );
    const allCounted = counted.flat();
    assert.equal(new Set(allCounted).size, 23, 'every batch has its own tag');
    assert.deepEqual(
      written.map((batch) => batch.length),
      [...Array<number>(22).fill(2), 1],
    );
    const entries = written.flat();
    assert.equal(entries.length, 45);
    for (const entry of entries) {
      assert.deepEqual(entry.request, { method: 'POST', url: 'Patient' });
      assert.equal(entry.resource.id, undefined, 'the server assigns the id');
      assert.ok(
        entry.resource.meta.tag.some((t) => `${t.system}|${t.code}` === scopeTag),
        'scope tag',
      );
    }
    for (const batch of written) {
      const tags = new Set(batch.map(batchTagOf));
      assert.equal(tags.size, 1, 'one tag per batch');
      assert.ok(allCounted.includes([...tags][0]!), 'the tag the count search asked about');
    }
    assert.deepEqual(
      entries.map((e) => e.resource.name[0]!.text).sort(),
      Array.from({ length: 45 }, (_, i) => `Row${i} Unit`).sort(),
    );
  });

  it('a refused transaction is sent again as a batch and the entry the server rejects is reported by line; run again, the batch fetches its tagged resources and writes only that row', async () => {
    const file = csv('partial.csv', 3);
    const args = [file, '--model', 'patient', '--batch-size', '3'];
    const isRow1 = (entry: Entry) => entry.resource.name[0]!.text === 'Row1 Unit';

    // first run: the transaction is refused, the batch creates rows 0 and 2
    let firstTag = '';
    let stored: Entry['resource'][] = [];
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => {
        firstTag = countedTags(query as Record<string, string[]>)[0]!;
        return true;
      })
      .reply(200, { resourceType: 'Bundle', type: 'searchset', total: 0 });
    nock(origin)
      .post('/fhir', (body: { type: string }) => body.type === 'transaction')
      .reply(400, { resourceType: 'OperationOutcome', issue: [] });
    nock(origin)
      .post('/fhir', (body: { type: string }) => body.type === 'batch')
      .reply(200, (_uri, body) => {
        const entries = bodyEntries(body);
        const answer = created(entries, (e) => (isRow1(e) ? '400 Bad Request' : '201 Created'));
        stored = entries.flatMap((e, i) => {
          const location = answer.entry[i]!.response.location;
          return location ? [{ ...e.resource, id: location.split('/')[1]! }] : [];
        });
        return answer;
      });
    const first = await run(args);
    assert.equal(first.code, 1);
    assert.equal(first.summary.written, 2);
    assert.equal(first.summary.failed, 1);
    assert.match(first.stderr, /failed line 3: the server answered 400 Bad Request/);
    assert.equal(stored.length, 2);

    // second run: the count finds the tag, the tagged fetch gives rows 0 and 2, row 1 is written
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => countedTags(query as Record<string, string[]>)[0] === firstTag)
      .reply(200, { resourceType: 'Bundle', type: 'searchset', total: 2 });
    nock(origin)
      .get('/fhir/Patient')
      .query({ _tag: [`${batchSystem}|${firstTag}`, scopeTag], _count: '200' })
      .matchHeader('cache-control', 'no-cache')
      .reply(200, {
        resourceType: 'Bundle',
        type: 'searchset',
        entry: stored.map((resource) => ({ resource, search: { mode: 'match' } })),
      });
    let resent: Entry[] = [];
    nock(origin)
      .post('/fhir', (body: { type: string; entry: Entry[] }) => {
        resent = body.entry;
        return body.type === 'transaction';
      })
      .reply(200, (_uri, body) => created(bodyEntries(body)));
    const second = await run(args);
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(second.summary, {
      written: 1,
      skipped: { already_present: 2, repeated_in_file: 0 },
      invalid: 0,
      failed: 0,
      links_created: 0,
    });
    assert.deepEqual(
      resent.map((e) => e.resource.name[0]!.text),
      ['Row1 Unit'],
    );
    assert.equal(batchTagOf(resent[0]!), firstTag, 'written under the same batch tag');
  });

  it('a transaction whose answer is lost is found by its batch tag and counted as written, not sent again', async () => {
    let sent: Entry[] = [];
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => query._summary === 'count')
      .reply(200, { resourceType: 'Bundle', type: 'searchset', total: 0 });
    nock(origin)
      .post('/fhir', (body: { entry: Entry[] }) => {
        sent = body.entry;
        return true;
      })
      .replyWithError({ code: 'ECONNRESET', message: 'socket hang up' });
    nock(origin)
      .get('/fhir/Patient')
      .query((query) => query._count === '200')
      .reply(200, () => ({
        resourceType: 'Bundle',
        type: 'searchset',
        entry: sent.map((e, i) => ({ resource: { ...e.resource, id: `lost${i}` } })),
      }));
    const result = await run([csv('lost.csv', 2), '--model', 'patient']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.summary.written, 2);
    assert.equal(result.summary.failed, 0);
  });
});
