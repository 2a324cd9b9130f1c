/**
 * Links and deletes raced by many processes on the real HAPI server at
 * FHIR_BASE_URL (and FHIR_BASE_URL_2, a second HAPI node on the same
 * PostgreSQL database, when the server matrix sets it): facades as separate
 * processes, independent FhirStorage objects, and facades killed with SIGKILL
 * in the middle of links. The unique link SearchParameters are installed first
 * (they stay on the server, so npm test runs this file after the others).
 * Rounds per race: RACE_ROUNDS (default 50).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { FhirRestClient } from '../../src/backends/fhir/fhir-rest.js';
import { everyMatch } from '../../src/backends/fhir/fhir-search.js';
import { reportLinkGuarantee } from '../../src/backends/fhir/link-guarantee-report.js';
import { IdentifierSystems } from '../../src/backends/fhir/links.js';
import {
  FhirStorage,
  HttpStorage,
  StorageUnavailableError,
  type HealthcareStorage,
} from '../../src/index.js';
import { parseCheckArgs, runCheck } from '../../src/cli/check/index.js';
import { linkGuaranteeSection } from '../../src/cli/check/link-guarantee-section.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { startFacadeProcess, type FacadeProcess } from '../support/facade-process.js';
import { installLinkGuaranteeOn } from '../support/link-guarantee-ready.js';

const nodeA = requireFhirBaseUrl();
const nodeB = process.env.FHIR_BASE_URL_2?.trim().replace(/\/+$/, '');
const nodes = nodeB && nodeB !== nodeA ? [nodeA, nodeB] : [nodeA];
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 50);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1)
  throw new Error(`RACE_ROUNDS must be a positive integer, not ${process.env.RACE_ROUNDS}`);
const RACERS = 20;
const FACADES = 4;
const KILL_ROUNDS = 6;
const run = randomBytes(4).toString('hex');
const onNodes = `${nodes.length} HAPI node${nodes.length > 1 ? 's on one database' : ''}`;

/** Every Patient holding the link (sourceId, sourceName), read straight from the server, no scope. */
async function holdersOf(sourceId: string, sourceName: string): Promise<string[]> {
  const system = new IdentifierSystems(new Map()).systemFor(sourceName);
  const found = await everyMatch(
    new FhirRestClient({ baseUrl: nodeA }).searchPages({
      resourceType: 'Patient',
      params: [{ name: 'identifier', system, values: [sourceId] }],
    }),
  );
  return found.map((resource) => resource.id!).sort();
}

const createRacers = (storages: readonly HealthcareStorage[], label: string) =>
  Promise.all(
    Array.from({ length: RACERS }, (_, i) =>
      storages[i % storages.length]!.createPatient({ name: `Racer ${run} ${label} ${i}` }),
    ),
  );

/** ROUNDS rounds of RACERS patients linking one new pair at once, racer i through storages[i % n]. */
async function raceLinks(t: TestContext, storages: readonly HealthcareStorage[], label: string) {
  const patients = await createRacers(storages, label);
  const source = `race-${run}-${label}`;
  const winnersPerRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const sourceId = `pair-${round}`;
    const answers = await Promise.all(
      patients.map((p, i) => storages[i % storages.length]!.linkPatient(p.id, sourceId, source)),
    );
    const winners = patients.filter((_, i) => answers[i] === true);
    winnersPerRound.push(winners.length);
    assert.equal(winners.length, 1, `round ${round}: ${winners.length} of ${RACERS} won`);
    const holder = await storages[round % storages.length]!.getPatient(sourceId, source);
    assert.equal(holder?.id, winners[0]!.id, `round ${round}: the pair is not held by the winner`);
    assert.deepEqual(await holdersOf(sourceId, source), [winners[0]!.id]);
  }
  t.diagnostic(
    `${label}: ${ROUNDS} rounds, winners per round: ${JSON.stringify(countBy(winnersPerRound))}`,
  );
}

/**
 * ROUNDS rounds; in each, three records each get two updates and a delete at
 * once, each through a different storage: every delete answers true and the
 * record is gone afterwards, through every storage and on the server (410).
 */
async function raceDeletes(t: TestContext, storages: readonly HealthcareStorage[], label: string) {
  const n = storages.length;
  let updatesLanded = 0;
  let updatesRefused = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const records = await Promise.all(
      [0, 1, 2].map((k) =>
        storages[(round + k) % n]!.createPatient({ name: `Doomed ${run} ${k}` }),
      ),
    );
    const outcomes = await Promise.all(
      records.flatMap((record, k) => [
        storages[(round + k) % n]!.updatePatient(record.id, { location: `before ${round}` }),
        storages[(round + k + 1) % n]!.deletePatient(record.id),
        storages[(round + k + 2) % n]!.updatePatient(record.id, { status: 'I' }),
      ]),
    );
    records.forEach((record, k) => {
      assert.equal(
        outcomes[k * 3 + 1],
        true,
        `round ${round}: delete of record ${k} answered false`,
      );
      for (const landed of [outcomes[k * 3], outcomes[k * 3 + 2]]) {
        if (landed) updatesLanded++;
        else updatesRefused++;
      }
    });
    for (const record of records) {
      for (const storage of storages.slice(0, FACADES))
        assert.equal(await storage.getPatient(record.id), null, `round ${round}: came back`);
      const res = await fetch(`${nodes[round % nodes.length]}/Patient/${record.id}`);
      assert.equal(res.status, 410, `round ${round}: the server answers ${res.status}, not 410`);
    }
  }
  t.diagnostic(
    `${label}: ${ROUNDS * 3} records deleted while updated, all stayed deleted; updates before the delete ${updatesLanded}, after it (false) ${updatesRefused}`,
  );
}

/** The error of a request whose facade process went away under it (connection reset or refused). */
const diedWithFacade = (error: unknown): boolean =>
  error instanceof StorageUnavailableError && error.kind === 'unreachable';

const countBy = (values: number[]) =>
  values.reduce<Record<number, number>>((c, v) => ({ ...c, [v]: (c[v] ?? 0) + 1 }), {});

describe(`races across processes (${onNodes})`, () => {
  before(() => installLinkGuaranteeOn(nodes));

  it('healthcare-fhir check --install: the links section says the server guarantees unique links', async () => {
    let printed = '';
    const code = await runCheck(
      parseCheckArgs([nodeA, '--install'], {}),
      (text) => (printed += text),
      [linkGuaranteeSection],
    );
    assert.equal(code, 0);
    assert.match(
      printed,
      /^Unique links across processes\n {2}unique links: guaranteed by the server/,
    );
  });

  it('check reports the unique link guarantee on every node once installed, without a warning', async () => {
    for (const node of nodes) {
      const report = await reportLinkGuarantee(new FhirRestClient({ baseUrl: node }));
      assert.equal(report.guaranteed, true, report.lines.join('\n'));
      assert.equal(report.warning, false);
    }
  });

  describe(`${FACADES} facade processes`, () => {
    let facades: FacadeProcess[] = [];
    let clients: HttpStorage[] = [];
    before(async () => {
      facades = await Promise.all(
        Array.from({ length: FACADES }, (_, i) => startFacadeProcess(nodes[i % nodes.length]!)),
      );
      clients = facades.map((f) => new HttpStorage({ baseUrl: f.url, timeoutMs: 60_000 }));
    });
    after(() => Promise.all(facades.map((f) => f.stop())));

    it(`${RACERS} racers over ${FACADES} facades link one pair: exactly one 201 and the pair held by its patient, every one of ${ROUNDS} rounds`, (t) =>
      raceLinks(t, clients, 'facades'));

    it(`two updates racing a delete, each through another facade: the delete answers 204 and the record stays deleted, ${ROUNDS} rounds of 3 records`, (t) =>
      raceDeletes(t, clients, 'facades'));
  });

  describe(`${RACERS} independent FhirStorage objects`, () => {
    const storages = Array.from(
      { length: RACERS },
      (_, i) => new FhirStorage({ baseUrl: nodes[i % nodes.length]!, timeoutMs: 60_000 }),
    );

    it(`${RACERS} racers, one FhirStorage each, link one pair: exactly one true and the pair held by its patient, every one of ${ROUNDS} rounds`, (t) =>
      raceLinks(t, storages, 'storages'));

    it(`two updates racing a delete through other FhirStorage objects: the delete answers true and the record stays deleted, ${ROUNDS} rounds of 3 records`, (t) =>
      raceDeletes(t, storages, 'storages'));
  });

  describe('a facade killed with SIGKILL in the middle of links', () => {
    let facades: FacadeProcess[] = [];
    after(() => Promise.all(facades.map((f) => f.stop())));

    it(`no pair is on two patients, every pair answered 201 is held by that patient, every pair answered 409 is held (${KILL_ROUNDS} rounds, 4 pairs × ${RACERS} racers each)`, async (t) => {
      facades = await Promise.all(
        Array.from({ length: FACADES }, (_, i) => startFacadeProcess(nodes[i % nodes.length]!)),
      );
      const direct = new FhirStorage({ baseUrl: nodeA, timeoutMs: 60_000 });
      const patients = await createRacers([direct], 'killed');
      const source = `kill-${run}`;
      const acknowledged = new Map<string, string>(); // sourceId → patient id answered 201
      const refused = new Set<string>();
      const pairs: string[] = [];
      let lostAnswers = 0;
      for (let round = 0; round < KILL_ROUNDS; round++) {
        const roundPairs = [0, 1, 2, 3].map((k) => `pair-${round}-${k}`);
        pairs.push(...roundPairs);
        const clients = facades.map((f) => new HttpStorage({ baseUrl: f.url, timeoutMs: 60_000 }));
        const victim = round % FACADES;
        const attempts = patients.flatMap((patient, i) =>
          roundPairs.map(async (sourceId, k) => {
            const facade = (i + k) % FACADES;
            let won: boolean;
            try {
              won = await clients[facade]!.linkPatient(patient.id, sourceId, source);
            } catch (error) {
              // only a request sent to the facade being killed may go unanswered
              if (facade !== victim || !diedWithFacade(error)) throw error;
              lostAnswers++;
              return;
            }
            if (!won) refused.add(sourceId);
            else {
              assert.ok(!acknowledged.has(sourceId), `${sourceId}: two 201s`);
              acknowledged.set(sourceId, patient.id);
            }
          }),
        );
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 300));
        await facades[victim]!.kill();
        await Promise.all(attempts);
        facades[victim] = await startFacadeProcess(nodes[victim % nodes.length]!);
      }
      for (const sourceId of pairs) {
        const holders = await holdersOf(sourceId, source);
        assert.ok(holders.length <= 1, `${sourceId} is on ${holders.length} patients`);
        const acked = acknowledged.get(sourceId);
        if (acked !== undefined) assert.deepEqual(holders, [acked], `${sourceId}: 201 not held`);
        if (refused.has(sourceId)) assert.equal(holders.length, 1, `${sourceId}: 409, unheld`);
      }
      t.diagnostic(
        `${KILL_ROUNDS} kills, ${pairs.length} pairs: ${acknowledged.size} answered 201, ${refused.size} with a 409, ${lostAnswers} requests died with their facade; none on two patients`,
      );
      assert.ok(lostAnswers > 0, 'no request was in flight when a facade was killed');
    });
  });
});
