/**
 * Owns opening the facade's audit trail from its settings (`AUDIT_LOG`,
 * `AUDIT_FHIR`): the file (or standard output), and for the FHIR copy a FHIR
 * REST client with the storage's connection settings (auth, TLS, timeouts)
 * that posts `batch` Bundles of BALP AuditEvents naming each record by the
 * resource type its model is stored as.
 */
import type { Logger } from 'pino';
import type { HealthcareStorage } from '../../api/types.js';
import { FhirRestClient, type FhirRestOptions } from '../../backends/fhir/fhir-rest.js';
import { FhirStorage } from '../../backends/fhir/index.js';
import type { AuditConfig } from '../../config/audit-env.js';
import { balpAuditEvent } from './balp.js';
import type { FhirAuditOptions } from './fhir-queue.js';
import type { AuditEvent } from './event.js';
import { AuditTrail } from './trail.js';

export interface OpenTrailOptions {
  storage: HealthcareStorage;
  /** The FHIR server's connection (base URL, auth, …), as the storage was given it. */
  fhirConnection?: FhirRestOptions;
  logger: Logger;
  onWritten?: (event: AuditEvent) => void;
  /** Batch size, delays and bounds of the FHIR copy (fhir-queue.ts defaults). */
  fhirQueue?: Omit<FhirAuditOptions, 'send' | 'toResource' | 'logger'>;
}

export async function openAuditTrail(
  config: AuditConfig,
  { storage, fhirConnection, logger, onWritten, fhirQueue }: OpenTrailOptions,
): Promise<AuditTrail> {
  if (!config.fhir) return AuditTrail.open({ log: config.log, logger, onWritten });
  if (!(storage instanceof FhirStorage) || !fhirConnection)
    throw new Error('AUDIT_FHIR=true needs the fhir storage backend (a FHIR server to write to)');
  const rest = new FhirRestClient(fhirConnection);
  return AuditTrail.open({
    log: config.log,
    logger,
    onWritten,
    fhir: {
      ...fhirQueue,
      send: (entries) => rest.batch(entries, 'batch'),
      // every audited model is one of the storage's, so it has a mapping
      toResource: (event) => balpAuditEvent(event, storage.fhirResourceType(event.model)!),
    },
  });
}
