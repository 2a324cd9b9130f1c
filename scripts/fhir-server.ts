/**
 * `npm run fhir-server`: builds the local HAPI FHIR server if needed and runs it in the
 * foreground on FHIR_PORT (default 8080), storing data on disk under ./data/fhir (FHIR_DATA_DIR
 * overrides; FHIR_DB=postgres and FHIR_PROFILE as for npm start), with the unique link
 * SearchParameters installed. Java output goes to the terminal; Ctrl-C stops it.
 */
import path from 'node:path';
import {
  serverOptionsFromEnv,
  startLocalFhirServer,
  type LocalFhirServer,
} from '../fhir-server/launcher/index.js';
import { onShutdownSignal } from '../src/shared/shutdown-signals.js';

const progress = (m: string) => process.stderr.write(`[fhir-server] ${m}\n`);

async function main(): Promise<void> {
  const dataDir = process.env.FHIR_DATA_DIR
    ? path.resolve(process.env.FHIR_DATA_DIR)
    : path.resolve('data', 'fhir');
  const interrupt = new AbortController();
  let server: LocalFhirServer | undefined = undefined;
  let stopping = false;
  onShutdownSignal((signal) => {
    if (stopping) return;
    stopping = true;
    progress(`${signal}: stopping…`);
    interrupt.abort();
    if (!server) return; // still starting: the start rejects once java is stopped
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
  server = await startLocalFhirServer({
    ...serverOptionsFromEnv(),
    installLinkGuarantee: true,
    dataDir,
    output: 'inherit',
    onProgress: progress,
    signal: interrupt.signal,
  });
  progress(`FHIR R4 server at ${server.baseUrl} (data in ${dataDir}); Ctrl-C to stop`);
  void server.exited.then((code) => {
    if (stopping) return;
    progress(`HAPI FHIR server exited on its own (${code})`);
    process.exit(typeof code === 'number' && code !== 0 ? code : 1);
  });
}

main().catch((err: unknown) => {
  progress(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
