/**
 * Durability of the bundled HAPI server on disk (H2 file): creates at
 * concurrency 8 through the facade (FhirStorage behind it) while the server is
 * killed with SIGKILL, then the server is restarted on the same data: every
 * create the facade acknowledged with 201 must be readable. Three rounds; the counts per round are
 * printed as test diagnostics. Starts its own server in a temporary directory.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startLocalFhirServer, type LocalFhirServer } from '../../fhir-server/launcher/index.js';
import { FhirStorage } from '../../src/index.js';
import { call, startApp } from '../http/helpers.js';

const ROUNDS = 3;
const CONCURRENCY = 8;
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'hapi-durability-'));
const start = () =>
  startLocalFhirServer({ database: 'h2-file', dataDir, port: 0, output: 'ignore' });

describe('bundled HAPI on disk survives SIGKILL', () => {
  let server: LocalFhirServer | undefined;
  after(async () => {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(`every create acknowledged before a SIGKILL is readable after the restart (${ROUNDS} rounds, concurrency ${CONCURRENCY})`, async (t) => {
    server = await start();
    for (let round = 1; round <= ROUNDS; round++) {
      const storage = new FhirStorage({ baseUrl: server.baseUrl, timeoutMs: 5_000, retry: false });
      const facade = await startApp({ storage });
      const acknowledged: string[] = [];
      let failed = 0;
      let killed = false;
      const writer = async (w: number) => {
        for (let i = 0; !killed; i++) {
          const answer = await call(facade.baseUrl, 'POST', '/patients', {
            body: { name: `Durable ${round}-${w}-${i}` },
          });
          if (answer.status === 201) acknowledged.push((answer.json as { id: string }).id);
          else failed++; // not acknowledged (5xx): the server died under it
        }
      };
      const writers = Array.from({ length: CONCURRENCY }, (_, w) => writer(w));
      // kill while creates are in flight, at a different moment each round
      await new Promise((r) => setTimeout(r, 1_500 + round * 700));
      await server.kill();
      killed = true;
      await Promise.all(writers);
      await facade.close();

      server = await start();
      const reader = new FhirStorage({ baseUrl: server.baseUrl });
      let readable = 0;
      const lost: string[] = [];
      for (const id of acknowledged) {
        if (await reader.getPatient(id)) readable++;
        else lost.push(id);
      }
      t.diagnostic(
        `round ${round}: acknowledged ${acknowledged.length}, readable ${readable}, lost ${lost.length}, unacknowledged (failed in flight) ${failed}`,
      );
      assert.ok(
        acknowledged.length > 0,
        `round ${round}: no create was acknowledged before the kill`,
      );
      assert.deepEqual(lost, [], `round ${round}: acknowledged creates lost after SIGKILL`);
    }
  });
});
