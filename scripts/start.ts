/**
 * `npm start`: the HTTP facade (src/server.ts), starting the bundled local
 * HAPI FHIR server first (data under ./data/fhir) when the fhir backend has no
 * FHIR_BASE_URL (FHIR_DB, FHIR_DB_URL…, FHIR_PROFILE choose its database and settings; it
 * gets the unique link SearchParameters). The facade stops that server when it shuts down.
 */
import { serverOptionsFromEnv, startLocalFhirServer } from '../fhir-server/launcher/index.js';
import { main } from '../src/server.js';

void main({
  startFhirServer: (logger, signal) =>
    startLocalFhirServer({
      ...serverOptionsFromEnv(),
      installLinkGuarantee: true,
      signal,
      onProgress: (message) => logger.info({ component: 'fhir-server' }, message),
    }),
});
