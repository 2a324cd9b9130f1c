/**
 * The facade's operations settings from the environment, checked at start-up:
 * `METRICS_PORT` (Prometheus metrics on a listener of their own) and the FHIR
 * circuit breaker, on by default in the facade (`FHIR_BREAKER=off` turns it
 * off; `FHIR_BREAKER_FAILURES`, `FHIR_BREAKER_OPEN_MS` tune it).
 */
import { DEFAULT_BREAKER, type BreakerOptions } from '../transport/breaker.js';

export interface OperationsConfig {
  /** Where `GET /metrics` is served (0: a free port); undefined: no metrics. */
  metricsPort?: number;
  breaker: Required<BreakerOptions> | false;
}

function readWhole(env: NodeJS.ProcessEnv, name: string, min: number, max: number) {
  const text = env[name]?.trim();
  if (!text) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new Error(
      `${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`,
    );
  }
  return Number(text);
}

export function readOperationsEnv(env: NodeJS.ProcessEnv): OperationsConfig {
  const metricsPort = readWhole(env, 'METRICS_PORT', 0, 65535);
  const switchText = (env.FHIR_BREAKER?.trim() || 'on').toLowerCase();
  if (switchText !== 'on' && switchText !== 'off') {
    throw new Error(`FHIR_BREAKER must be "on" or "off", not ${JSON.stringify(switchText)}`);
  }
  const failureThreshold = readWhole(env, 'FHIR_BREAKER_FAILURES', 1, 1_000_000);
  const openMs = readWhole(env, 'FHIR_BREAKER_OPEN_MS', 1, 86_400_000);
  if (switchText === 'off') {
    const stray = ['FHIR_BREAKER_FAILURES', 'FHIR_BREAKER_OPEN_MS'].filter((n) => env[n]?.trim());
    if (stray.length > 0) throw new Error(`${stray.join(', ')} set but FHIR_BREAKER is off`);
    return { ...(metricsPort === undefined ? {} : { metricsPort }), breaker: false };
  }
  return {
    ...(metricsPort === undefined ? {} : { metricsPort }),
    breaker: {
      failureThreshold: failureThreshold ?? DEFAULT_BREAKER.failureThreshold,
      openMs: openMs ?? DEFAULT_BREAKER.openMs,
    },
  };
}
