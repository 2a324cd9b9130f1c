/**
 * Owns reading the bundled server's database and profile from the environment
 * (FHIR_DB, FHIR_DB_URL, FHIR_DB_USER, FHIR_DB_PASSWORD, FHIR_PROFILE) for
 * `npm start` and `npm run fhir-server`, refusing a bad value with a clear message.
 */
import type { LocalFhirServerOptions } from './start.js';

export function serverOptionsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
): Pick<LocalFhirServerOptions, 'database' | 'postgres' | 'profile'> {
  const profile = env.FHIR_PROFILE?.trim() || 'tuned';
  if (profile !== 'tuned' && profile !== 'stock')
    throw new Error(`FHIR_PROFILE must be tuned or stock, not ${JSON.stringify(profile)}`);
  const db = env.FHIR_DB?.trim() || 'disk';
  if (db === 'disk') return { database: 'h2-file', profile };
  if (db === 'memory') return { database: 'h2-memory', profile };
  if (db !== 'postgres')
    throw new Error(`FHIR_DB must be disk, memory or postgres, not ${JSON.stringify(db)}`);
  const url = env.FHIR_DB_URL?.trim() ?? '';
  if (!url.startsWith('jdbc:postgresql://'))
    throw new Error(
      'FHIR_DB=postgres needs FHIR_DB_URL=jdbc:postgresql://host:port/database (scripts/postgres.sh env prints it)',
    );
  return {
    database: 'postgres',
    profile,
    postgres: {
      url,
      user: env.FHIR_DB_USER?.trim() || 'fhir',
      password: env.FHIR_DB_PASSWORD ?? '',
    },
  };
}
