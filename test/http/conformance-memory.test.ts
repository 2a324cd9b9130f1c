/** The conformance suite through HttpStorage → the facade → MemoryStorage: every route end to end. */
import { HttpStorage } from '../../src/client/http-storage.js';
import { MemoryStorage } from '../../src/backends/memory/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';
import { startApp, type RunningApp } from './helpers.js';

let running: RunningApp | undefined;

runConformanceSuite(
  'HttpStorage over the facade over MemoryStorage',
  async () => {
    running = await startApp({ storage: new MemoryStorage(), apiTokens: ['conformance-token'] });
    return new HttpStorage({
      baseUrl: running.baseUrl,
      token: 'conformance-token',
      timeoutMs: 10_000,
    });
  },
  { teardown: async () => running?.close() },
);
