/**
 * `npm run fhir-server`: builds the local HAPI FHIR server if needed and runs it in the
 * foreground on FHIR_PORT (default 8080), storing data on disk under ./data/fhir (FHIR_DATA_DIR
 * overrides). Java output goes to the terminal; Ctrl-C stops it.
 */
import path from 'node:path';
import { startLocalFhirServer } from '../src/fhir-server/launcher.js';

const progress = (m: string) => process.stderr.write(`[fhir-server] ${m}\n`);

async function main(): Promise<void> {
  const dataDir = process.env.FHIR_DATA_DIR
    ? path.resolve(process.env.FHIR_DATA_DIR)
    : path.resolve('data', 'fhir');
  const server = await startLocalFhirServer({
    storage: 'disk',
    dataDir,
    stdio: 'inherit',
    onProgress: progress,
  });
  progress(`FHIR R4 server at ${server.baseUrl} (data in ${dataDir}); Ctrl-C to stop`);

  let stopping = false;
  const shutdown = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    progress(`${sig}: stopping…`);
    server.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  void server.exited?.then((code) => {
    if (stopping) return;
    progress(`HAPI FHIR server exited on its own (${code})`);
    process.exit(typeof code === 'number' && code !== 0 ? code : 1);
  });
}

main().catch((err: unknown) => {
  progress(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
