/**
 * `healthcare-fhir import` and `export` end to end on the real HAPI server,
 * run as the user runs them (a child process configured by the environment):
 * bad rows reported by line and not written, an import killed with SIGKILL
 * mid-run and then resumed with the same command writes every row exactly
 * once, the same file imported twice writes nothing the second time, a
 * re-run after fixing a bad row or with another batch size writes only what
 * is missing, a record updated after its import keeps its import mark and is
 * not imported again, records deleted since are written again, link columns
 * become links, export streams what was imported.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { FhirStorage, comparisons } from '../../src/index.js';
import { packageRoot } from '../../src/shared/package-root.js';
import { requireFhirBaseUrl } from '../fhir-base-url.js';

const baseUrl = requireFhirBaseUrl();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-import-'));
// Links are unique server-wide, not per scope: each run links its own phone numbers, so a server
// that earlier runs filled (a shared or long-lived one) does not already hold them.
const run = String(randomInt(1_000_000)).padStart(6, '0');
const phone = (n: number): string => `+2567${run}${String(n).padStart(3, '0')}`;

function scope() {
  const scopeTag = { system: 'urn:healthcare-fhir:test-run', code: randomBytes(5).toString('hex') };
  return {
    scopeTag,
    env: {
      ...process.env,
      FHIR_BASE_URL: baseUrl,
      FHIR_SCOPE_TAG: `${scopeTag.system}|${scopeTag.code}`,
    },
    storage: new FhirStorage({ baseUrl, scopeTag }),
  };
}

function cli(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: packageRoot(),
    env,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<{
    code: number | null;
    signal: string | null;
    stdout: string;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** A CSV file of `rows` patients (`Name<i> <label>`). */
function patientsCsv(name: string, label: string, rows: number): string {
  const file = path.join(dir, name);
  const lines = ['name,sex,birth_date'];
  for (let i = 0; i < rows; i++) lines.push(`Name${i} ${label},F,1990-02-03`);
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

const summaryOf = (run: { stdout: string }) =>
  JSON.parse(run.stdout) as {
    written: number;
    skipped: { already_present: number; repeated_in_file: number };
    invalid: number;
    failed: number;
    links_created: number;
  };

async function scopeCount(scopeTag: { system: string; code: string }): Promise<number> {
  const tag = encodeURIComponent(`${scopeTag.system}|${scopeTag.code}`);
  const response = await fetch(`${baseUrl}/Patient?_tag=${tag}&_summary=count`, {
    headers: { 'cache-control': 'no-cache' },
  });
  return ((await response.json()) as { total: number }).total;
}

describe('import and export on HAPI', () => {
  it('an import killed with SIGKILL mid-run and run again writes every good row exactly once; bad rows are reported by line and not written', async () => {
    const { env, scopeTag, storage } = scope();
    // enough batches that the run is still writing when the first of them is seen and it is killed
    const rows = 1500;
    const file = path.join(dir, 'patients.csv');
    const lines = ['name,sex,birth_date,location'];
    for (let i = 0; i < rows; i++)
      lines.push(
        `Row${i} Imported,${i % 2 ? 'M' : 'F'},1980-01-${String((i % 28) + 1).padStart(2, '0')},"Gulu, North"`,
      );
    lines.splice(11, 0, 'Bad Sex,X,1980-01-01,'); // line 12
    lines.push(',F,1980-01-01,'); // the last line: no name
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const args = ['import', file, '--model', 'patient', '--batch-size', '10', '--concurrency', '2'];

    const first = cli(args, env);
    let before = 0;
    for (let i = 0; i < 3000 && before === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      before = await scopeCount(scopeTag);
    }
    first.child.kill('SIGKILL');
    const killed = await first.done;
    assert.equal(killed.signal, 'SIGKILL');
    const afterKill = await scopeCount(scopeTag);
    assert.ok(
      afterKill > 0 && afterKill < rows,
      `killed mid-run (${afterKill} of ${rows} written)`,
    );

    const second = await cli(args, env).done;
    assert.equal(second.code, 1, 'invalid rows make the exit status 1');
    const summary = JSON.parse(second.stdout) as {
      written: number;
      skipped: { already_present: number };
      invalid: number;
      failed: number;
    };
    assert.equal(summary.invalid, 2);
    assert.equal(summary.failed, 0);
    assert.equal(summary.written + summary.skipped.already_present, rows);
    assert.ok(summary.skipped.already_present >= afterKill, 'what the killed run wrote is skipped');
    assert.match(second.stderr, /invalid line 12: sex/);
    assert.match(second.stderr, new RegExp(`invalid line ${rows + 3}: name`));

    const names = (await storage.filterPatients()).map((p) => p.name);
    assert.equal(names.length, rows, 'no duplicates, nothing missing');
    assert.equal(new Set(names).size, rows);
    assert.ok(!names.includes('Bad Sex'));
  });

  it('the same file imported a second time writes nothing and reports every row already present', async () => {
    const { env, storage } = scope();
    const file = path.join(dir, 'twice.csv');
    const lines = ['name,sex,birth_date'];
    for (let i = 0; i < 25; i++) lines.push(`Twice${i} Imported,F,1990-02-03`);
    lines.push('Twice0 Imported,F,1990-02-03'); // repeated in the file: one record
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
    const args = ['import', file, '--model', 'patient', '--batch-size', '10'];

    const first = await cli(args, env).done;
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(JSON.parse(first.stdout), {
      written: 25,
      skipped: { already_present: 0, repeated_in_file: 1 },
      invalid: 0,
      failed: 0,
      links_created: 0,
    });
    const second = await cli(args, env).done;
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), {
      written: 0,
      skipped: { already_present: 25, repeated_in_file: 1 },
      invalid: 0,
      failed: 0,
      links_created: 0,
    });
    assert.equal((await storage.filterPatients()).length, 25);
  });

  it('fixing a bad row in the file and running the same command again writes exactly that row: the fix shifts every later batch, nothing is written twice', async () => {
    const { env, storage } = scope();
    const args = (file: string) => ['import', file, '--model', 'patient', '--batch-size', '4'];
    const bad = patientsCsv('fix.csv', 'Fixed', 20);
    // line 3 has a bad sex: rows after it fall into other batches once it is fixed
    const lines = fs.readFileSync(bad, 'utf8').trimEnd().split('\n');
    lines.splice(2, 0, 'Late Fixed,X,1990-02-03');
    fs.writeFileSync(bad, `${lines.join('\n')}\n`);

    const first = await cli(args(bad), env).done;
    assert.equal(first.code, 1, 'the invalid row makes the exit status 1');
    assert.match(first.stderr, /invalid line 3: sex/);
    assert.equal(summaryOf(first).written, 20);

    lines[2] = 'Late Fixed,M,1990-02-03';
    fs.writeFileSync(bad, `${lines.join('\n')}\n`);
    const second = await cli(args(bad), env).done;
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(summaryOf(second), {
      written: 1,
      skipped: { already_present: 20, repeated_in_file: 0 },
      invalid: 0,
      failed: 0,
      links_created: 0,
    });
    const names = (await storage.filterPatients()).map((p) => p.name);
    assert.equal(names.length, 21);
    assert.equal(new Set(names).size, 21, 'no duplicates');
    assert.ok(names.includes('Late Fixed'));
  });

  it('running again with another --batch-size (and the file renamed) writes nothing twice', async () => {
    const { env, storage } = scope();
    const file = patientsCsv('sizes.csv', 'Sized', 30);
    const first = await cli(['import', file, '--model', 'patient', '--batch-size', '7'], env).done;
    assert.equal(first.code, 0, first.stderr);
    assert.equal(summaryOf(first).written, 30);

    const renamed = path.join(dir, 'sizes-renamed.csv');
    fs.copyFileSync(file, renamed);
    const second = await cli(['import', renamed, '--model', 'patient', '--batch-size', '4'], env)
      .done;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(summaryOf(second).written, 0);
    assert.equal(summaryOf(second).skipped.already_present, 30);
    assert.equal((await storage.filterPatients()).length, 30);
  });

  it('a record updated through the library after its import keeps its import-row identifier and a re-run does not import it again', async () => {
    const { env, storage } = scope();
    const file = patientsCsv('updated.csv', 'Updated', 5);
    const args = ['import', file, '--model', 'patient'];
    const first = await cli(args, env).done;
    assert.equal(first.code, 0, first.stderr);
    const [target] = await storage.filterPatients(['name', comparisons.EQUAL, 'Name2 Updated']);
    assert.ok(target, 'imported');
    const rowIdentifier = async () => {
      const response = await fetch(`${baseUrl}/Patient/${target.id}`, {
        headers: { 'cache-control': 'no-cache' },
      });
      const resource = (await response.json()) as {
        identifier?: { system?: string; value?: string }[];
      };
      return resource.identifier?.find((i) => i.system === 'urn:healthcare-fhir:import-row')?.value;
    };
    const hash = await rowIdentifier();
    assert.match(hash ?? '', /^[0-9a-f]{40}$/);

    assert.ok(await storage.updatePatient(target.id, { name: 'Renamed Updated', sex: 'M' }));
    assert.equal(await rowIdentifier(), hash, 'the update kept the identifier');
    assert.equal((await storage.getPatient(target.id))?.name, 'Renamed Updated');

    const second = await cli(args, env).done;
    assert.equal(second.code, 0, second.stderr);
    assert.equal(summaryOf(second).written, 0);
    assert.equal(summaryOf(second).skipped.already_present, 5);
    const names = (await storage.filterPatients()).map((p) => p.name).sort();
    assert.deepEqual(names, [
      'Name0 Updated',
      'Name1 Updated',
      'Name3 Updated',
      'Name4 Updated',
      'Renamed Updated',
    ]);
  });

  it('records deleted after their import are written again by a re-run, exactly those, links included; twins equal but for their link stay two records', async () => {
    const { env, storage } = scope();
    const file = path.join(dir, 'partial.ndjson');
    // rows 0 and 1 have the same fields and differ only by their link: two rows, two hashes
    const records = Array.from({ length: 12 }, (_, i) => ({
      name: i < 2 ? 'Same Partial' : `Partial${i} Imported`,
      sex: 'M',
      phone: phone(100 + i),
    }));
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const args = [
      'import',
      file,
      '--model',
      'patient',
      '--batch-size',
      '5',
      '--link-column',
      'sms=phone',
    ];
    const first = await cli(args, env).done;
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).written, 12);

    // take away one of the twins and one other record of the first batch, and one of the second
    const gone = [phone(100), phone(103), phone(107)];
    for (const number of gone) {
      const patient = await storage.getPatient(number, 'sms');
      assert.ok(patient && (await storage.deletePatient(patient.id)));
    }

    const second = await cli(args, env).done;
    assert.equal(second.code, 0, second.stderr);
    assert.deepEqual(JSON.parse(second.stdout), {
      written: 3,
      skipped: { already_present: 9, repeated_in_file: 0 },
      invalid: 0,
      failed: 0,
      links_created: 3,
    });
    const patients = await storage.filterPatients();
    assert.equal(patients.length, 12, 'no duplicates, nothing missing');
    for (const [i, record] of records.entries()) {
      const linked = await storage.getPatient(record.phone, 'sms');
      assert.equal(linked?.name, record.name, `row ${i} linked to a record of its content`);
    }
    const twins = await Promise.all(
      [records[0]!, records[1]!].map((r) => storage.getPatient(r.phone, 'sms')),
    );
    assert.notEqual(twins[0]!.id, twins[1]!.id, 'the twins are two records');
  });

  it('NDJSON with a link column: records linked by source; export gives them back as NDJSON and CSV', async () => {
    const { env, storage } = scope();
    const file = path.join(dir, 'linked.ndjson');
    const records = [
      { name: 'Ada Linked', sex: 'F', phone: phone(1) },
      { name: 'Bo Linked', phone: phone(2) },
      { name: 'Cy Unlinked' },
    ];
    fs.writeFileSync(file, records.map((r) => JSON.stringify(r)).join('\n') + '\n\n');
    const imported = await cli(
      ['import', file, '--model', 'patient', '--link-column', 'sms=phone'],
      env,
    ).done;
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(JSON.parse(imported.stdout), {
      written: 3,
      skipped: { already_present: 0, repeated_in_file: 0 },
      invalid: 0,
      failed: 0,
      links_created: 2,
    });
    assert.equal((await storage.getPatient(phone(1), 'sms'))?.name, 'Ada Linked');
    assert.equal((await storage.getPatient(phone(2), 'sms'))?.name, 'Bo Linked');

    const ndjson = await cli(['export', '--model', 'patient', 'name__like=Linked'], env).done;
    assert.equal(ndjson.code, 0, ndjson.stderr);
    const exported = ndjson.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string });
    assert.deepEqual(exported.map((r) => r.name).sort(), ['Ada Linked', 'Bo Linked']);
    const csv = await cli(['export', '--model', 'patient', '--format', 'csv', 'sex=F'], env).done;
    const [header, ...body] = csv.stdout.trim().split('\n');
    assert.equal(
      header,
      'id,name,sex,birth_date,death_date,location,status,created_date,updated_date',
    );
    assert.equal(body.length, 1);
    const ada = await storage.getPatient(phone(1), 'sms');
    assert.ok(body[0]!.startsWith(`${ada!.id},Ada Linked,F,,,,A,`), body[0]);
  });

  it('a link column holding an object or a boolean makes its row invalid, naming source_id, and writes nothing of it; a number links as its digits', async () => {
    const { env, storage, scopeTag } = scope();
    const file = path.join(dir, 'odd-links.ndjson');
    const digits = Number(`2567${run}900`);
    const rows = [
      { name: 'Object Link', phone: { number: phone(901) } },
      { name: 'Boolean Link', phone: true },
      { name: 'Number Link', phone: digits },
    ];
    fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const run1 = await cli(
      ['import', file, '--model', 'patient', '--link-column', 'sms=phone'],
      env,
    ).done;
    assert.equal(run1.code, 1, 'invalid rows make the exit status 1');
    assert.equal(JSON.parse(run1.stdout).invalid, 2);
    assert.match(run1.stderr, /invalid line 1: source_id must be a string/);
    assert.match(run1.stderr, /invalid line 2: source_id must be a string/);
    assert.equal(await scopeCount(scopeTag), 1, 'only the row with a number was written');
    assert.equal((await storage.getPatient(String(digits), 'sms'))?.name, 'Number Link');
  });

  it('usage errors exit 2 and say what to change', async () => {
    const { env } = scope();
    const noModel = await cli(['import', path.join(dir, 'linked.ndjson')], env).done;
    assert.equal(noModel.code, 2);
    assert.match(noModel.stderr, /--model must be patient or provider/);
    const badLookup = await cli(['export', '--model', 'patient', 'name__nope=1'], env).done;
    assert.notEqual(badLookup.code, 0);
  });
});
