/** The bundled server's JVM flags: FHIR_JAVA_OPTS, else the FHIR_JAVA_PROFILE flag set (default `start`); a bad profile stops the start with one message. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { javaOptions } from '../../fhir-server/launcher/java.js';

describe('bundled server JVM flags', () => {
  it('by default the start profile: 1 GB heap, C1 only, parallel GC', () => {
    assert.deepEqual(javaOptions({}), [
      '-Xms256m',
      '-Xmx1g',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseParallelGC',
      '-Xss1m',
    ]);
  });

  it('FHIR_JAVA_PROFILE=bulk: 2 GB heap, the full tiered JIT (no TieredStopAtLevel) and the parallel GC', () => {
    const flags = javaOptions({ FHIR_JAVA_PROFILE: 'bulk' });
    assert.ok(flags.includes('-Xmx2g'));
    assert.ok(flags.includes('-XX:+UseParallelGC'));
    assert.equal(
      flags.some((f) => f.startsWith('-XX:TieredStopAtLevel')),
      false,
    );
  });

  it('FHIR_JAVA_OPTS replaces any profile, split on whitespace', () => {
    assert.deepEqual(
      javaOptions({ FHIR_JAVA_OPTS: ' -Xmx3g  -XX:+UseG1GC ', FHIR_JAVA_PROFILE: 'bulk' }),
      ['-Xmx3g', '-XX:+UseG1GC'],
    );
  });

  it('an unknown FHIR_JAVA_PROFILE throws one message naming the choices', () => {
    assert.throws(
      () => javaOptions({ FHIR_JAVA_PROFILE: 'fast' }),
      /^Error: FHIR_JAVA_PROFILE must be start or bulk, not "fast"$/,
    );
  });
});
