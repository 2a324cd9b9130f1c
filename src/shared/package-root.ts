/**
 * Owns finding this package's root directory (the one whose package.json is
 * named `healthcare-fhir`), from `src/` under tsx and from `dist/src/` alike.
 * The mappings directory and the local-server launcher both start from it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE_NAME = 'healthcare-fhir';
let cachedRoot: string | undefined;

export function packageRoot(): string {
  if (cachedRoot) return cachedRoot;
  const start = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (isOurPackageJson(path.join(dir, 'package.json'))) return (cachedRoot = dir);
    if (path.dirname(dir) === dir) {
      throw new Error(
        `cannot find the ${PACKAGE_NAME} package root (a package.json named "${PACKAGE_NAME}") above ${start}`,
      );
    }
  }
}

function isOurPackageJson(file: string): boolean {
  try {
    return (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME;
  } catch {
    return false; // missing or not JSON: keep walking up
  }
}
