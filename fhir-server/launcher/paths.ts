/** Owns where the bundled server lives: its Maven project, its jar, its data and log directories. */
import path from 'node:path';
import { packageRoot } from '../../src/shared/package-root.js';

export const fhirServerDir = (): string => path.join(packageRoot(), 'fhir-server');
export const fhirServerJar = (): string => path.join(fhirServerDir(), 'target', 'fhir-server.jar');
export const defaultDataDir = (): string => path.join(packageRoot(), 'data', 'fhir');
export const logDir = (): string => path.join(packageRoot(), 'data', 'logs');
