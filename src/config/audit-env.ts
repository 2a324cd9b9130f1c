/**
 * Owns the audit trail's settings from the environment (contract §6),
 * checked at start-up: `AUDIT_LOG` (a file path, resolved here, or `-` for
 * standard output) and `AUDIT_FHIR` (`true`/`false`). The FHIR copy needs the
 * file trail, which gates every answer, and a FHIR server to write to.
 * Whether the file can be appended to is checked when the trail opens.
 */
import path from 'node:path';

export interface AuditConfig {
  /** A resolved file path, or `-`. */
  log: string;
  fhir: boolean;
}

export function readAuditEnv(
  env: NodeJS.ProcessEnv,
  backend: 'fhir' | 'memory',
): AuditConfig | undefined {
  const log = env.AUDIT_LOG?.trim() || undefined;
  const fhirText = env.AUDIT_FHIR?.trim().toLowerCase() || 'false';
  if (fhirText !== 'true' && fhirText !== 'false')
    throw new Error(`AUDIT_FHIR must be "true" or "false", not ${JSON.stringify(env.AUDIT_FHIR)}`);
  const fhir = fhirText === 'true';
  if (fhir && !log)
    throw new Error(
      'AUDIT_FHIR=true needs AUDIT_LOG (a file path or -): that trail is written before each answer, the FHIR copy after it, in batches',
    );
  if (fhir && backend !== 'fhir')
    throw new Error('AUDIT_FHIR=true needs the fhir storage backend (a FHIR server to write to)');
  if (!log) return undefined;
  return { log: log === '-' ? '-' : path.resolve(log), fhir };
}
