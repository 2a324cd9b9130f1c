/**
 * The unique link guarantee on the real HAPI server at FHIR_BASE_URL (and, when
 * FHIR_BASE_URL_2 is set, a second HAPI node on the same database): once our
 * SearchParameters are installed, HAPI itself refuses a second Patient or
 * Practitioner holding a link identifier, on create and on update, and stores
 * exactly one of many concurrent writers; other identifiers stay free.
 * Raw FHIR requests: this tests the server, not FhirStorage.
 *
 * It installs the SearchParameters on the server it is given and they stay
 * there, so scripts/test.ts runs it last against each server.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';
import {
  FhirRestClient as FhirClient,
  type ResourceJson as FhirResource,
} from '../../src/backends/fhir/fhir-rest.js';
import {
  checkLinkSearchParameters,
  installLinkSearchParameters,
  linkSearchParameters,
} from '../../src/backends/fhir/link-guarantee.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { installLinkGuaranteeOn } from '../support/link-guarantee-ready.js';

const nodeA = requireFhirBaseUrl();
const nodeB = process.env.FHIR_BASE_URL_2?.trim().replace(/\/+$/, '') || nodeA;
const nodes = nodeB === nodeA ? [nodeA] : [nodeA, nodeB];
const run = randomBytes(5).toString('hex');
const FHIR_JSON = 'application/fhir+json';
/** A link identifier as FhirStorage writes it (source name under urn:healthcare-fhir:source:). */
const link = (label: string) => ({
  system: `urn:healthcare-fhir:source:emr-${run}`,
  value: `${label}-${randomBytes(3).toString('hex')}`,
});
const mrn = () => ({
  system: 'http://hospital.example.org/mrn',
  value: `MRN-${run}-${randomBytes(3).toString('hex')}`,
});

interface Answer {
  status: number;
  body: FhirResource & { issue?: { diagnostics?: string }[] };
}

async function send(method: string, url: string, body?: unknown, headers = {}): Promise<Answer> {
  const res = await fetch(url, {
    method,
    headers: { accept: FHIR_JSON, 'content-type': FHIR_JSON, ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  return { status: res.status, body: (await res.json()) as Answer['body'] };
}

const create = (base: string, type: string, identifier: object[]) =>
  send('POST', `${base}/${type}`, {
    resourceType: type,
    name: [{ family: `Unique${run}` }],
    identifier,
  });

const diagnostics = (a: Answer) => a.body.issue?.map((i) => i.diagnostics).join(' ') ?? '';
const isLinkRefusal = (a: Answer) => a.status === 409 && /HAPI-(1093|0824)/.test(diagnostics(a));

async function holders(type: string, identifier: { system: string; value: string }) {
  const q = `identifier=${encodeURIComponent(`${identifier.system}|${identifier.value}`)}`;
  const { status, body } = await send('GET', `${nodeA}/${type}?${q}`);
  assert.equal(status, 200);
  return ((body as { entry?: { resource: FhirResource }[] }).entry ?? []).map((e) => e.resource.id);
}

const counts = (answers: Answer[]) =>
  answers.reduce<Record<number, number>>(
    (c, a) => ({ ...c, [a.status]: (c[a.status] ?? 0) + 1 }),
    {},
  );

describe(`unique link guarantee on HAPI (${nodes.length} node${nodes.length > 1 ? 's' : ''})`, () => {
  before(() => installLinkGuaranteeOn(nodes));

  it('check reports both SearchParameters present once installed, and installing again writes nothing', async () => {
    const client = new FhirClient({ baseUrl: nodeA });
    const status = await checkLinkSearchParameters(client);
    assert.deepEqual(
      status.present,
      linkSearchParameters().map((sp) => sp.id),
    );
    assert.deepEqual(status.missing, []);
    assert.deepEqual(await installLinkSearchParameters(client), []);
  });

  for (const type of ['Patient', 'Practitioner']) {
    it(`${type}: a create with a held link identifier is 409 (HAPI-1093) naming the holder`, async () => {
      const id = link('create');
      const first = await create(nodeA, type, [id, mrn()]);
      assert.equal(first.status, 201);
      for (const node of nodes) {
        const second = await create(node, type, [id]);
        assert.equal(second.status, 409);
        assert.match(diagnostics(second), /HAPI-1093/);
        assert.ok(
          diagnostics(second).includes(`existing index belongs to ${type}/${first.body.id}`),
          diagnostics(second),
        );
      }
      assert.deepEqual(await holders(type, id), [first.body.id]);
    });
  }

  it('an update (PUT with If-Match) adding a held link identifier is 409 naming the holder, and changes nothing', async () => {
    const id = link('update');
    const holder = await create(nodeA, 'Patient', [id]);
    const other = await create(nodeA, 'Patient', [mrn()]);
    const put = await send(
      'PUT',
      `${nodeB}/Patient/${other.body.id}`,
      { ...other.body, identifier: [...(other.body.identifier ?? []), id] },
      { 'if-match': `W/"${other.body.meta?.versionId}"` },
    );
    assert.equal(put.status, 409);
    assert.ok(
      diagnostics(put).includes(`existing index belongs to Patient/${holder.body.id}`),
      diagnostics(put),
    );
    const after = await send('GET', `${nodeA}/Patient/${other.body.id}`);
    assert.equal(after.body.meta?.versionId, other.body.meta?.versionId);
    assert.deepEqual(await holders('Patient', id), [holder.body.id]);
  });

  it("an EMR's other identifiers (same MRN on two patients) are not constrained", async () => {
    const shared = mrn();
    assert.equal((await create(nodeA, 'Patient', [shared, link('a')])).status, 201);
    assert.equal((await create(nodeB, 'Patient', [shared, link('b')])).status, 201);
  });

  it('deleting the holder frees its link identifier for another patient', async () => {
    const id = link('freed');
    const holder = await create(nodeA, 'Patient', [id]);
    assert.equal((await send('DELETE', `${nodeA}/Patient/${holder.body.id}`)).status, 200);
    assert.equal((await create(nodeB, 'Patient', [id])).status, 201);
  });

  it('20 concurrent creates of one link identifier, spread over the nodes: exactly one 201, nineteen 409, one stored', async () => {
    for (const type of ['Patient', 'Practitioner']) {
      const id = link('race');
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => create(nodes[i % nodes.length]!, type, [id])),
      );
      assert.deepEqual(
        counts(answers),
        { 201: 1, 409: 19 },
        `${type}: ${JSON.stringify(counts(answers))}`,
      );
      assert.ok(answers.filter((a) => a.status === 409).every(isLinkRefusal));
      const winner = answers.find((a) => a.status === 201)!;
      assert.deepEqual(await holders(type, id), [winner.body.id]);
    }
  });

  it('20 patients concurrently PUT one link identifier, spread over the nodes: exactly one 200, one holder', async () => {
    const id = link('put-race');
    const patients = await Promise.all(
      Array.from({ length: 20 }, () => create(nodeA, 'Patient', [mrn()])),
    );
    const answers = await Promise.all(
      patients.map((p, i) =>
        send(
          'PUT',
          `${nodes[i % nodes.length]}/Patient/${p.body.id}`,
          { ...p.body, identifier: [...(p.body.identifier ?? []), id] },
          { 'if-match': `W/"${p.body.meta?.versionId}"` },
        ),
      ),
    );
    assert.deepEqual(counts(answers), { 200: 1, 409: 19 });
    assert.ok(answers.filter((a) => a.status === 409).every(isLinkRefusal));
    assert.deepEqual(await holders('Patient', id), [
      answers.find((a) => a.status === 200)!.body.id,
    ]);
  });
});
