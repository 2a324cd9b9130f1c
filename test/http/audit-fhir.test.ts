/**
 * `AUDIT_FHIR=true` against the real HAPI server: events read back as BALP
 * AuditEvents; failing batches retried and reported (logs, /readyz) until
 * they go through, each event written once; a full queue answers 503.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import type { PatientRecord } from '../../src/api/types.js';
import { ACTION_SYSTEM, CLIENT_SYSTEM, RECORD_SYSTEM } from '../../src/http/audit/balp.js';
import { openAuditTrail, type OpenTrailOptions } from '../../src/http/audit/open-trail.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { forward, readBody, relay, startLoopbackProxy } from '../support/forward.js';
import { call, captureLogger, silentLogger, startApp } from './helpers.js';
import { readTrail } from './audit-helpers.js';

const baseUrl = requireFhirBaseUrl();
const token = randomBytes(4).toString('hex');
const dir = mkdtempSync(path.join(tmpdir(), 'audit-fhir-'));
const storage = new FhirStorage({
  baseUrl,
  scopeTag: { system: 'urn:healthcare-fhir:test', code: `audit-fhir-${token}` },
});
after(() => rmSync(dir, { recursive: true, force: true }));

interface Coding {
  system: string;
  code: string;
}
interface AuditEventJson {
  meta?: { profile?: string[] };
  type: Coding;
  subtype: Coding[];
  action: string;
  outcome: string;
  agent: { who: { identifier?: { system: string; value: string } }; requestor: boolean }[];
  entity: {
    type?: Coding;
    role?: Coding;
    name?: string;
    what?: { identifier?: { system?: string; value: string }; type?: string };
    query?: string;
    description?: string;
  }[];
}

/** The AuditEvents on HAPI naming this record. */
async function auditEventsOf(record: string): Promise<AuditEventJson[]> {
  const url = `${baseUrl}/AuditEvent?entity-name:exact=${encodeURIComponent(record)}&_count=100`;
  const answer = await fetch(url, { headers: { 'cache-control': 'no-cache' } });
  assert.equal(answer.status, 200);
  const bundle = (await answer.json()) as { entry?: { resource: AuditEventJson }[] };
  return (bundle.entry ?? []).map((e) => e.resource);
}

const trailOn = (fhirBase: string, log: string, more: Partial<OpenTrailOptions> = {}) =>
  openAuditTrail(
    { log: path.join(dir, log), fhir: true },
    { storage, fhirConnection: { baseUrl: fhirBase }, logger: silentLogger(), ...more },
  );

describe('AUDIT_FHIR: events as AuditEvents on the FHIR server', () => {
  it('create, read, search and a refused read are BALP AuditEvents on HAPI, found by record, without values', async () => {
    const trail = await trailOn(baseUrl, 'balp.jsonl');
    const app = await startApp({ storage, audit: trail });
    const name = `Balp ${token}`;
    const headers = (n: number) => ({ headers: { 'x-request-id': `balp-${token}-${n}` } });
    let id: string;
    try {
      const created = await call(app.baseUrl, 'POST', '/patients', {
        body: { name },
        ...headers(1),
      });
      id = (created.json as PatientRecord).id;
      await call(app.baseUrl, 'GET', `/patients/${id}`, headers(2));
      await call(app.baseUrl, 'GET', `/patients?name=${encodeURIComponent(name)}`, headers(3));
      assert.equal(
        (await call(app.baseUrl, 'GET', `/patients/gone-${token}`, headers(4))).status,
        404,
      );
    } finally {
      await app.close();
      await trail.close(10_000); // sends what waits
    }
    const events = await auditEventsOf(`Patient/${id}`);
    const byRequest = new Map(
      events.map((e) => [
        e.entity.find((x) => x.type?.code === 'XrequestId')!.what!.identifier!.value,
        e,
      ]),
    );
    const expected = [
      [1, 'create', 'create', 'C', 'PatientCreate'],
      [2, 'read', 'read', 'R', 'PatientRead'],
      [3, 'search-type', 'search', 'E', 'PatientQuery'],
    ] as const;
    assert.equal(events.length, expected.length, 'one AuditEvent per event, each once');
    for (const [n, interaction, action, code, profile] of expected) {
      const event = byRequest.get(`balp-${token}-${n}`)!;
      assert.ok(event, `request ${n}`);
      assert.deepEqual(
        [
          event.type.code,
          event.subtype.map((s) => `${s.system}#${s.code}`),
          event.action,
          event.outcome,
        ],
        [
          'rest',
          [`http://hl7.org/fhir/restful-interaction#${interaction}`, `${ACTION_SYSTEM}#${action}`],
          code,
          '0',
        ],
      );
      assert.deepEqual(event.meta?.profile, [
        `https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.${profile}`,
      ]);
      assert.deepEqual(event.agent[0]!.who.identifier, {
        system: CLIENT_SYSTEM,
        value: 'anonymous',
      });
      const patient = event.entity.find((x) => x.role?.code === '1')!;
      assert.deepEqual(patient.what, {
        type: 'Patient',
        identifier: { system: RECORD_SYSTEM, value: `Patient/${id}` },
      });
      assert.ok(!JSON.stringify(event).includes(name), 'no name in the AuditEvent');
    }
    const query = byRequest.get(`balp-${token}-3`)!.entity.find((x) => x.role?.code === '24')!;
    assert.equal(query.description, 'Patient?name ==');
    assert.equal(Buffer.from(query.query!, 'base64').toString(), 'Patient?name ==');
    const [refused] = await auditEventsOf(`Patient/gone-${token}`);
    assert.equal(refused?.outcome, '4', 'a 404 is a minor failure');
    assert.equal(refused?.meta?.profile, undefined, 'a refusal claims no BALP (success) profile');
  });
});

describe('AUDIT_FHIR: a failing FHIR copy', () => {
  it('failed batches are retried, reported in the log and /readyz while they fail, then written once each', async () => {
    let refuse = 3;
    const proxy = await startLoopbackProxy(baseUrl, async (req, body, res, host) => {
      if (req.method === 'POST' && refuse > 0) {
        refuse -= 1;
        res.writeHead(503).end();
        return;
      }
      const upstream = await forward(baseUrl, req, body, host);
      relay(upstream, await readBody(upstream), res);
    });
    const { logger, lines } = captureLogger();
    const trail = await trailOn(proxy.baseUrl, 'retry.jsonl', {
      logger,
      // batches fail at ~0, 0.2 and 0.6 s (failing from the second), the fourth goes through at ~1.4 s
      fhirQueue: { flushMs: 10, retryMs: 200, failAfter: 2 },
    });
    const app = await startApp({ storage, audit: trail });
    try {
      const created = await call(app.baseUrl, 'POST', '/patients', {
        body: { name: `Retry ${token}` },
      });
      const id = (created.json as PatientRecord).id;
      assert.equal(
        created.status,
        201,
        'the file trail gates the answer; the FHIR copy is not waited for',
      );
      assert.equal((await call(app.baseUrl, 'GET', `/patients/${id}`)).status, 200);
      let readyz = await call(app.baseUrl, 'GET', '/readyz');
      for (let i = 0; i < 150 && readyz.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        readyz = await call(app.baseUrl, 'GET', '/readyz');
      }
      assert.equal(readyz.status, 503);
      assert.match(
        (readyz.json as { detail: string }).detail,
        /The audit trail is failing: the FHIR server has refused or failed the last \d+ AuditEvent batches/,
      );
      assert.ok(
        lines().some((l) => /"level":50.*AuditEvents not written to the FHIR server/.test(l)),
        'logged as an error',
      );
      for (let i = 0; i < 200 && refuse > 0; i++) await new Promise((r) => setTimeout(r, 20));
      await trail.close(10_000);
      assert.equal(
        (await call(app.baseUrl, 'GET', '/readyz')).status,
        200,
        'ready again once a batch went through',
      );
      const events = await auditEventsOf(`Patient/${id}`);
      assert.deepEqual(events.map((e) => e.action).sort(), ['C', 'R'], 'each event written once');
    } finally {
      await app.close();
      await proxy.stop();
    }
  });

  it('when the queue for an unreachable FHIR server is full, record requests are answered 503', async () => {
    const trail = await trailOn('http://127.0.0.1:9/fhir', 'full.jsonl', {
      fhirQueue: { maxBacklog: 2, flushMs: 60_000 },
    });
    const app = await startApp({ storage, audit: trail });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++)
        statuses.push((await call(app.baseUrl, 'GET', `/patients/none-${token}`)).status);
      assert.deepEqual(statuses, [404, 404, 503]);
      assert.equal(
        readTrail(path.join(dir, 'full.jsonl')).length,
        2,
        'the refused event was not written either',
      );
    } finally {
      await app.close();
      await trail.close(0);
    }
  });
});
