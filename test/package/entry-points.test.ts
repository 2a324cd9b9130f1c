/**
 * What importing the package's entry points loads: the root entry
 * (`healthcare-fhir`) loads neither the facade's dependencies (express, pino,
 * swagger-ui-dist) nor the local-server launcher, nor ajv (loaded when a
 * FhirStorage first checks a mapping file), nor jose (loaded when SMART
 * backend auth first signs an assertion); `healthcare-fhir/http` does
 * load Express (so the check can fail). Each import runs in a fresh node
 * process whose resolve hook records every module URL.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Every module URL resolved (or required) while importing `entry` (a path under the repository). */
function modulesLoadedBy(entry: string): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'entry-points-'));
  const log = path.join(dir, 'resolved.txt');
  const hooks = path.join(dir, 'hooks.mjs');
  fs.writeFileSync(
    hooks,
    `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  fs.appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}`,
  );
  const register = path.join(dir, 'register.mjs');
  fs.writeFileSync(
    register,
    `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});`,
  );
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--import',
      pathToFileURL(register).href,
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(pathToFileURL(path.join(root, entry)).href)});
import { createRequire } from 'node:module';
import { appendFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
// modules loaded through require() (createRequire) bypass the resolve hook: add them too
const required = Object.keys(createRequire(${JSON.stringify(path.join(root, 'package.json'))}).cache);
appendFileSync(${JSON.stringify(log)}, required.map((f) => pathToFileURL(f).href + '\\n').join(''));`,
    ],
    { cwd: root, encoding: 'utf8' },
  );
  assert.equal(child.status, 0, child.stderr);
  const urls = fs.readFileSync(log, 'utf8').trim().split('\n');
  fs.rmSync(dir, { recursive: true, force: true });
  return urls;
}

const facadeDependency = /\/node_modules\/(express|pino|swagger-ui-dist|prom-client)\//;

describe('package entry points', () => {
  it('importing healthcare-fhir (src/index.ts) loads no express, pino, swagger-ui-dist, ajv, jose or launcher module', () => {
    const loaded = modulesLoadedBy('src/index.ts');
    assert.ok(loaded.some((url) => url.endsWith('/src/backends/fhir/fhir-storage.ts')));
    assert.deepEqual(
      loaded.filter(
        (url) =>
          facadeDependency.test(url) ||
          /\/node_modules\/(ajv|jose)\//.test(url) ||
          url.includes('/fhir-server/launcher/'),
      ),
      [],
    );
  });

  it('importing the facade (src/server.ts) loads no prom-client: only METRICS_PORT does', () => {
    const loaded = modulesLoadedBy('src/server.ts');
    assert.ok(loaded.some((url) => /\/node_modules\/express\//.test(url)));
    assert.deepEqual(
      loaded.filter((url) => /\/node_modules\/prom-client\//.test(url)),
      [],
    );
  });

  it('importing healthcare-fhir/http (src/http/index.ts) does load express', () => {
    assert.ok(
      modulesLoadedBy('src/http/index.ts').some((url) => /\/node_modules\/express\//.test(url)),
    );
  });
});
