import { MemoryStorage } from '../../src/index.js';
import { runConformanceSuite } from '../../src/testing/index.js';

runConformanceSuite('MemoryStorage', () => new MemoryStorage());
