/**
 * The bundled local HAPI FHIR server's launcher, for this repository's own
 * runnables (`npm start`, `npm test`, `npm run fhir-server`, `npm run bench`).
 * Not part of the library: no entry point of the package exports it, and it is
 * not compiled into dist/.
 *
 *   paths.ts      where the Maven project, jar, data and logs live
 *   build.ts      mvn package when the jar is missing or stale
 *   java.ts       find Java 17+, the JVM flags
 *   ports.ts      host/port choice, free-port probing
 *   supervise.ts  spawn java, wait for /metadata, stop
 *   start.ts      startLocalFhirServer: the above in order
 *   config.ts     database and profile from the environment (npm start, npm run fhir-server)
 */
export {
  startLocalFhirServer,
  type LocalFhirServer,
  type LocalFhirServerOptions,
  type FhirServerProfile,
  type PostgresConnection,
} from './start.js';
export { serverOptionsFromEnv } from './config.js';
export { freePort } from './ports.js';
