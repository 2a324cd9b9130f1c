/**
 * A model added through a mapping file is scope-checked as the FHIR type its
 * mapping stores it as: a `clinic` model mapped to `Organization` needs
 * `system/Organization.*` scopes (not `Clinic`), on FhirStorage against the
 * real HAPI server; /openapi.json states the same.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatedModelFields, type ModelSpec } from '../../src/api/models.js';
import { FhirStorage } from '../../src/backends/fhir/index.js';
import { sha256Hex } from '../../src/http/auth.js';
import { packageRoot } from '../../src/shared/package-root.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';
import { call, startApp, type RunningApp } from './helpers.js';

type Json = Record<string, unknown>;
const clinicModel: ModelSpec = {
  name: 'clinic',
  fields: { ...generatedModelFields, name: { kind: 'string', required: true } },
};

/** The bundled mappings plus clinic.json: Organization, name ↔ Organization.name. */
function mappingsWithClinic(dir: string): void {
  const bundled = path.join(packageRoot(), 'mappings');
  for (const file of ['patient.json', 'practitioner.json', 'mapping.schema.json'])
    fs.copyFileSync(path.join(bundled, file), path.join(dir, file));
  const practitioner = JSON.parse(
    fs.readFileSync(path.join(bundled, 'practitioner.json'), 'utf8'),
  ) as { fields: Record<string, unknown> };
  const clinic = {
    $schema: './mapping.schema.json',
    resourceType: 'Organization',
    fields: {
      name: { element: 'name', type: 'string', search: 'name' },
      created_date: practitioner.fields.created_date,
      updated_date: practitioner.fields.updated_date,
    },
  };
  fs.writeFileSync(path.join(dir, 'clinic.json'), JSON.stringify(clinic));
}

describe("a mapped third model's scopes use its mapping's resource type", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'clinic-mappings-'));
  let app: RunningApp;
  const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  before(async () => {
    mappingsWithClinic(dir);
    const storage = new FhirStorage({
      baseUrl: requireFhirBaseUrl(),
      mappingsDir: dir,
      extraModels: [clinicModel],
      scopeTag: {
        system: 'urn:healthcare-fhir:test',
        code: `clinic-${randomBytes(4).toString('hex')}`,
      },
    });
    app = await startApp({
      storage,
      clients: [
        {
          name: 'org-reader',
          tokenSha256: sha256Hex('org-token'),
          scopes: ['system/Organization.rs'],
        },
        {
          name: 'clinic-reader',
          tokenSha256: sha256Hex('clinic-token'),
          scopes: ['system/Clinic.rs'],
        },
      ],
    });
  });
  after(async () => {
    await app.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('system/Organization.rs searches clinics (200); system/Clinic.rs is 403 naming system/Organization.s', async () => {
    const allowed = await call(app.baseUrl, 'GET', '/clinics', as('org-token'));
    assert.equal(allowed.status, 200, allowed.text);
    assert.deepEqual(allowed.json, []);
    const refused = await call(app.baseUrl, 'GET', '/clinics', as('clinic-token'));
    assert.equal(refused.status, 403);
    assert.match(
      (refused.json as Json).detail as string,
      /needs the scope system\/Organization\.s /,
    );
  });

  it('/openapi.json states system/Organization.d for DELETE /clinics/{id}, system/Practitioner.r for GET /providers/{id}', async () => {
    const doc = (await call(app.baseUrl, 'GET', '/openapi.json', as('org-token'))).json as {
      paths: Record<string, Record<string, Json>>;
    };
    assert.deepEqual(doc.paths['/clinics/{id}']!.delete!.security, [
      { bearerAuth: ['system/Organization.d'] },
    ]);
    assert.deepEqual(doc.paths['/providers/{id}']!.get!.security, [
      { bearerAuth: ['system/Practitioner.r'] },
    ]);
  });
});
