/**
 * `npm start`: the HTTP facade (src/server.ts), starting the bundled local
 * HAPI FHIR server first (data under ./data/fhir) when the fhir backend has no
 * FHIR_BASE_URL. The facade stops that server when it shuts down.
 */
import { startLocalFhirServer } from '../fhir-server/launcher/index.js';
import { main } from '../src/server.js';

void main({
  startFhirServer: (logger, signal) =>
    startLocalFhirServer({
      database: 'h2-file',
      signal,
      onProgress: (message) => logger.info({ component: 'fhir-server' }, message),
    }),
});
