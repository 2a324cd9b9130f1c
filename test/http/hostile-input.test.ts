/**
 * The hostile-input corpus (hostile-corpus.ts) sent to the facade on both
 * backends, MemoryStorage and FhirStorage on the real HAPI server: every answer
 * is 2xx or a 4xx problem+json (never 5xx), and both backends answer the same
 * status and, for 2xx, the same records (ids and generated dates aside).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { sendRaw as send, startApp, type RawAnswer, type RunningApp } from './helpers.js';
import { hostileCorpus, type HostileRequest } from './hostile-corpus.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const readConcurrency = 4;
/** Searches and GETs change nothing, so they may run side by side. */
const isRead = (req: HostileRequest): boolean =>
  req.method === 'GET' || (req.method === 'POST' && req.path.endsWith('/_search'));

const generated = new Set(['id', 'created_date', 'updated_date']);

/** A 2xx body with what legitimately differs between backends taken out: generated fields, order. */
function comparable(answer: RawAnswer): unknown {
  if (answer.text === '') return '';
  const strip = (value: unknown): unknown =>
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(Object.entries(value).filter(([k]) => !generated.has(k)))
      : value;
  const body = JSON.parse(answer.text) as unknown;
  if (Array.isArray(body)) return body.map((item) => JSON.stringify(strip(item))).sort();
  return strip(body);
}

/** What is wrong with one answer on its own: a 5xx, or a 4xx that is not problem+json. */
function ownFault(answer: RawAnswer): string | undefined {
  if (answer.status >= 500 || answer.status < 200 || (answer.status >= 300 && answer.status < 400))
    return `status ${answer.status}`;
  if (answer.status >= 400) {
    if (!answer.contentType.startsWith('application/problem+json'))
      return `${answer.status} with content type ${answer.contentType}`;
    const problem = JSON.parse(answer.text) as Record<string, unknown>;
    if (problem.status !== answer.status || typeof problem.detail !== 'string')
      return `${answer.status} with a malformed problem`;
  }
  return undefined;
}

const describeRequest = (req: HostileRequest): string =>
  `${req.method} ${req.path.length > 120 ? `${req.path.slice(0, 120)}…` : req.path}${
    req.body ? ` body ${req.body.length} B ${req.body.subarray(0, 80).toString('latin1')}` : ''
  }${req.headers?.['content-encoding'] ? ` (${req.headers['content-encoding']})` : ''}`;

describe('hostile-input corpus against the facade on MemoryStorage and on FhirStorage (real HAPI)', () => {
  let memoryApp: RunningApp;
  let fhirApp: RunningApp;
  let fhir: FhirStorage;
  /** The `{patient}` of each backend: a patient created first, same fields on both. */
  const patientIds: string[] = [];

  before(async () => {
    const run = randomBytes(4).toString('hex');
    fhir = new FhirStorage({
      baseUrl: requireFhirBaseUrl(),
      scopeTag: { system: 'urn:healthcare-fhir:test', code: `hostile-${run}` },
      // the corpus links fixed pairs (',' ',' …): link systems of this run only, so a server
      // with the unique link guarantee (unique server-wide, not per scope) does not see
      // the pairs of earlier runs
      identifierSystemBase: `urn:healthcare-fhir:hostile-${run}:`,
      timeoutMs: 30_000,
    });
    memoryApp = await startApp({ storage: new MemoryStorage() });
    fhirApp = await startApp({ storage: fhir });
    for (const app of [memoryApp, fhirApp]) {
      const created = await send(app.baseUrl, {
        method: 'POST',
        path: '/patients',
        headers: { 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify({ name: 'Hx Anchor', birth_date: '2001-02-03' })),
      });
      assert.equal(created.status, 201, created.text);
      patientIds.push((JSON.parse(created.text) as { id: string }).id);
    }
  });
  after(async () => {
    await memoryApp.close();
    await fhirApp.close();
    await fhir.close();
    agent.destroy();
  });

  let total = 0;
  for (const group of hostileCorpus()) {
    it(`${group.name} (${group.cases.length} requests): never 5xx, 4xx are problem+json, both backends agree`, async () => {
      const faults: string[] = [];
      const check = async (req: HostileRequest): Promise<void> => {
        const [memory, onFhir] = await Promise.all(
          [memoryApp, fhirApp].map((app, i) =>
            send(
              app.baseUrl,
              { ...req, path: req.path.replaceAll('{patient}', patientIds[i]!) },
              agent,
            ),
          ),
        );
        total++;
        const what = describeRequest(req);
        for (const [label, answer] of [
          ['memory', memory!],
          ['fhir', onFhir!],
        ] as const) {
          const fault = ownFault(answer);
          if (fault) faults.push(`${label}: ${what} → ${fault}: ${answer.text.slice(0, 160)}`);
        }
        if (memory!.status !== onFhir!.status) {
          faults.push(
            `${what}: memory ${memory!.status}, fhir ${onFhir!.status}: ${onFhir!.text.slice(0, 160)}`,
          );
        } else if (memory!.status < 300) {
          try {
            assert.deepEqual(comparable(onFhir!), comparable(memory!));
          } catch {
            faults.push(`${what}: memory and fhir answer different bodies`);
          }
        }
      };
      // Reads run a few at a time; a write waits for the reads before it and runs alone.
      let reads: HostileRequest[] = [];
      const flushReads = async (): Promise<void> => {
        for (let i = 0; i < reads.length; i += readConcurrency)
          await Promise.all(reads.slice(i, i + readConcurrency).map(check));
        reads = [];
      };
      for (const req of group.cases) {
        if (isRead(req)) reads.push(req);
        else {
          await flushReads();
          await check(req);
        }
      }
      await flushReads();
      assert.deepEqual(
        faults.slice(0, 40),
        [],
        `${faults.length} faults in ${group.cases.length} requests`,
      );
    });
  }

  it('the corpus sent more than 3000 requests to each backend', () => {
    assert.ok(total > 3000, `${total} requests`);
  });
});
