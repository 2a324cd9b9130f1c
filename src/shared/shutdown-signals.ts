/**
 * Owns the process's reaction to SIGINT/SIGTERM: the one place a runnable
 * (the facade's `npm start`, `npm test`, `npm run fhir-server`) installs
 * signal handlers. Library code never calls it on import.
 */
export const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/** Calls `handler` on every SIGINT/SIGTERM until the returned function removes it. */
export function onShutdownSignal(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of SHUTDOWN_SIGNALS) process.on(signal, handler);
  return () => {
    for (const signal of SHUTDOWN_SIGNALS) process.removeListener(signal, handler);
  };
}
