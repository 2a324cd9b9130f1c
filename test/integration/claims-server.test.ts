/**
 * A server whose links are guaranteed by claims (link-claims.ts: Medplum,
 * whose conditional create is atomic), at FHIR_BASE_URL with the FHIR_AUTH…
 * credentials from the environment (client credentials on Medplum): the
 * conformance suite through the library and through the facade, links raced
 * by facades as separate processes (exactly one winner per round, the pair
 * held by the winner alone), unlink and delete freeing a pair, a claim left
 * by a linker whose record is gone taken at once, and racing deleters (at
 * most one true). Run by `npm run test:servers` (profile medplum).
 * Rounds: RACE_ROUNDS (default 10).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { FhirRestClient } from '../../src/backends/fhir/fhir-rest.js';
import { everyMatch } from '../../src/backends/fhir/fhir-search.js';
import { LinkClaims } from '../../src/backends/fhir/link-claims.js';
import { IdentifierSystems } from '../../src/backends/fhir/links.js';
import { readFhirConnectionEnv } from '../../src/config/fhir-connection-env.js';
import { FhirStorage, HttpStorage } from '../../src/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { startApp, type RunningApp } from '../http/helpers.js';
import { startFacadeProcess, type FacadeProcess } from '../support/facade-process.js';

const baseUrl = requireFhirBaseUrl();
const connection = readFhirConnectionEnv(process.env);
const run = randomBytes(4).toString('hex');
const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: `claims-${run}` };
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 10);
const RACERS = 20;
const FACADES = 4;

const storage = (extra: Partial<ConstructorParameters<typeof FhirStorage>[0]> = {}) =>
  new FhirStorage({ baseUrl, scopeTag, ...connection, timeoutMs: 60_000, ...extra });
const rest = new FhirRestClient({ baseUrl, ...connection });

/** Every Patient holding the pair, read straight from the server (no scope). */
async function holdersOf(sourceId: string, sourceName: string): Promise<string[]> {
  const system = new IdentifierSystems(new Map()).systemFor(sourceName);
  const found = await everyMatch(
    rest.searchPages({
      resourceType: 'Patient',
      params: [{ name: 'identifier', system, values: [sourceId] }],
    }),
  );
  return found.map((r) => r.id!).sort();
}

runConformanceSuite('FhirStorage (FHIR_AUTH from the environment)', () => storage());

let app: RunningApp | undefined;
runConformanceSuite(
  'HttpStorage over the facade over FhirStorage (FHIR_AUTH from the environment)',
  async () => {
    app = await startApp({ storage: storage(), apiTokens: ['claims-suite'] });
    return new HttpStorage({ baseUrl: app.baseUrl, token: 'claims-suite', timeoutMs: 60_000 });
  },
  { teardown: async () => app?.close() },
);

describe('links guaranteed by claims', () => {
  const direct = storage();
  let facades: FacadeProcess[] = [];
  before(async () => {
    facades = await Promise.all(Array.from({ length: FACADES }, () => startFacadeProcess(baseUrl)));
  });
  after(async () => {
    await Promise.all(facades.map((f) => f.stop()));
  });

  it('the server is detected as giving the claims guarantee', async () => {
    const { findLinkGuarantee } = await import('../../src/backends/fhir/link-uniqueness.js');
    const { ServerCapabilities } = await import('../../src/backends/fhir/capabilities.js');
    const finding = await findLinkGuarantee(rest, new ServerCapabilities(rest), {});
    assert.equal(finding.uniqueness, 'claims', finding.reason);
  });

  it(`${RACERS} racers over ${FACADES} facade processes, ${ROUNDS} rounds: exactly one winner per round, the pair held by it alone`, async (t) => {
    const clients = facades.map((f) => new HttpStorage({ baseUrl: f.url, timeoutMs: 120_000 }));
    const patients = await Promise.all(
      Array.from({ length: RACERS }, (_, i) => direct.createPatient({ name: `Racer ${run} ${i}` })),
    );
    const source = `race-${run}`;
    const winners: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const sourceId = `pair-${round}`;
      const answers = await Promise.all(
        patients.map((p, i) => clients[i % FACADES]!.linkPatient(p.id, sourceId, source)),
      );
      const won = patients.filter((_, i) => answers[i] === true);
      winners.push(won.length);
      assert.equal(won.length, 1, `round ${round}: ${won.length} of ${RACERS} won`);
      assert.deepEqual(await holdersOf(sourceId, source), [won[0]!.id]);
    }
    t.diagnostic(`${ROUNDS} rounds, winners per round: ${JSON.stringify(winners)}`);
  });

  it('unlink frees the pair: another record links it next', async () => {
    const [a, b] = await Promise.all([
      direct.createPatient({ name: `Unlinked ${run}` }),
      direct.createPatient({ name: `Next ${run}` }),
    ]);
    assert.equal(await direct.linkPatient(a.id, 'u1', `free-${run}`), true);
    assert.equal(await direct.linkPatient(b.id, 'u1', `free-${run}`), false);
    assert.equal(await direct.unlinkPatient(a.id, 'u1', `free-${run}`), true);
    assert.equal(await direct.linkPatient(b.id, 'u1', `free-${run}`), true);
    assert.deepEqual(await holdersOf('u1', `free-${run}`), [b.id]);
  });

  it('delete frees the pair: another record links it next', async () => {
    const [a, b] = await Promise.all([
      direct.createPatient({ name: `Deleted ${run}` }),
      direct.createPatient({ name: `Heir ${run}` }),
    ]);
    assert.equal(await direct.linkPatient(a.id, 'd1', `free-${run}`), true);
    assert.equal(await direct.deletePatient(a.id), true);
    assert.equal(await direct.linkPatient(b.id, 'd1', `free-${run}`), true);
    assert.deepEqual(await holdersOf('d1', `free-${run}`), [b.id]);
  });

  it('a claim whose linker died before writing is respected within the grace, and taken at once when its record is gone', async () => {
    const [a, b] = await Promise.all([
      direct.createPatient({ name: `Crashed ${run}` }),
      direct.createPatient({ name: `Survivor ${run}` }),
    ]);
    const system = new IdentifierSystems(new Map()).systemFor(`crash-${run}`);
    // a linker that claimed for a and died before its write
    await new LinkClaims(rest).claim('Patient', a.id, system, 'c1');
    assert.equal(await direct.linkPatient(b.id, 'c1', `crash-${run}`), false);
    assert.deepEqual(await holdersOf('c1', `crash-${run}`), []);
    assert.equal(await direct.deletePatient(a.id), true);
    assert.equal(await direct.linkPatient(b.id, 'c1', `crash-${run}`), true);
    assert.deepEqual(await holdersOf('c1', `crash-${run}`), [b.id]);
  });

  it(`${ROUNDS} rounds of ${FACADES * 2} deleters of one record over ${FACADES} facade processes: at most one true, the record gone`, async (t) => {
    const clients = facades.map((f) => new HttpStorage({ baseUrl: f.url, timeoutMs: 120_000 }));
    const trues: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const record = await direct.createPatient({ name: `Doomed ${run}` });
      const answers = await Promise.all(
        Array.from({ length: FACADES * 2 }, (_, i) =>
          clients[i % FACADES]!.deletePatient(record.id),
        ),
      );
      trues.push(answers.filter(Boolean).length);
      assert.equal(await direct.getPatient(record.id), null);
    }
    t.diagnostic(`true answers per round: ${JSON.stringify(trues)}`);
    assert.ok(
      trues.every((n) => n <= 1),
      `more than one deleter answered true: ${JSON.stringify(trues)}`,
    );
  });
});
