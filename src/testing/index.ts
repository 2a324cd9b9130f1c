/** `healthcare-fhir/testing`: the conformance suite for backend authors. */
export { runConformanceSuite, type ConformanceOptions } from './conformance.js';
export { nodeTestRunner, type TestRunner } from './runner.js';
