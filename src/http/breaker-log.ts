/**
 * The facade's log lines for circuit breaker changes (the transport never
 * logs): opened (how many failures, for how long), probing, closed again.
 */
import type { Logger } from 'pino';
import { events } from '../transport/events.js';

/** Logs every breaker change until the returned function is called. */
export function logBreakerChanges(logger: Logger): () => void {
  return events.breaker.subscribe(({ origin, state, failures, openMs }) => {
    const fields = { component: 'fhir-breaker', fhirServer: origin, breaker: state };
    if (state === 'open') {
      logger.warn(
        { ...fields, consecutiveFailures: failures, openMs },
        `FHIR server unreachable: circuit breaker open, requests are answered 503 without being sent for ${openMs} ms, then one probe`,
      );
    } else if (state === 'half-open') {
      logger.info(fields, 'circuit breaker half-open: one probe request goes to the FHIR server');
    } else {
      logger.info(fields, 'FHIR server answers again: circuit breaker closed');
    }
  });
}
