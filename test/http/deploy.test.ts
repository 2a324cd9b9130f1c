/**
 * What can be checked of the container files without a Docker engine: the
 * compose file parses and wires the services as documented; the Dockerfile is
 * multi-stage, runs as non-root, and starts the compiled server.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
type Json = Record<string, unknown>;

describe('docker-compose.yml', () => {
  const compose = parse(fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')) as Json;
  const services = compose.services as Record<string, Json>;

  it('has PostgreSQL, the official HAPI image and the facade built from the repo', () => {
    assert.deepEqual(Object.keys(services).sort(), ['db', 'facade', 'hapi']);
    assert.match(services.db!.image as string, /^postgres:/);
    assert.match(services.hapi!.image as string, /hapiproject\/hapi/);
    assert.equal(services.facade!.build, '.');
  });

  it('points HAPI at PostgreSQL and the facade at HAPI', () => {
    const hapiEnv = services.hapi!.environment as Json;
    assert.equal(hapiEnv['spring.datasource.url'], 'jdbc:postgresql://db:5432/hapi');
    assert.equal(hapiEnv['spring.datasource.driverClassName'], 'org.postgresql.Driver');
    assert.equal(hapiEnv['hapi.fhir.fhir_version'], 'R4');
    const facadeEnv = services.facade!.environment as Json;
    assert.equal(facadeEnv.FHIR_BASE_URL, 'http://hapi:8080/fhir');
    assert.equal(facadeEnv.HEALTHCARE_STORAGE_BACKEND, 'fhir');
    assert.ok('API_TOKENS' in facadeEnv);
    assert.deepEqual(services.facade!.ports, ['3000:3000']);
    assert.equal(services.hapi!.ports, undefined, 'HAPI is not published');
  });

  it('cannot be brought up without secrets: POSTGRES_PASSWORD and API_TOKENS are required (${VAR:?…}), never defaulted', () => {
    const text = fs.readFileSync(path.join(root, 'docker-compose.yml'), 'utf8');
    for (const secret of ['POSTGRES_PASSWORD', 'API_TOKENS']) {
      const uses = [...text.matchAll(new RegExp(`\\$\\{${secret}([^}]*)\\}`, 'g'))];
      assert.ok(uses.length > 0, `${secret} is used`);
      for (const use of uses)
        assert.match(use[1]!, /^:\?\S/, `${use[0]} must be \${${secret}:?message}`);
    }
    assert.equal(
      (services.db!.environment as Json).POSTGRES_PASSWORD,
      (services.hapi!.environment as Json)['spring.datasource.password'],
    );
    assert.match((services.facade!.environment as Json).API_TOKENS as string, /^\$\{API_TOKENS:\?/);
  });

  it('has health checks and start order', () => {
    assert.ok((services.db!.healthcheck as Json).test);
    assert.ok((services.facade!.healthcheck as Json).test);
    assert.match(JSON.stringify((services.facade!.healthcheck as Json).test), /\/readyz/);
    assert.deepEqual(services.hapi!.depends_on, { db: { condition: 'service_healthy' } });
    assert.ok((services.facade!.depends_on as Json).hapi);
  });
});

describe('Dockerfile', () => {
  const dockerfile = fs.readFileSync(path.join(root, 'Dockerfile'), 'utf8');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.trim().startsWith('#'));

  it('is multi-stage: npm ci and build in one stage, runtime in another', () => {
    const froms = instructions.filter((l) => l.startsWith('FROM '));
    assert.equal(froms.length, 2);
    assert.match(dockerfile, /RUN npm ci/);
    assert.match(dockerfile, /npm run build/);
    assert.match(dockerfile, /npm prune --omit=dev/);
    assert.match(dockerfile, /COPY --from=build/);
  });

  it('runs as a non-root user the compiled server, with a health check', () => {
    const runtime = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
    const user = runtime.find((l) => l.startsWith('USER '));
    assert.ok(user && !/root|\b0\b/.test(user), 'a non-root USER in the runtime stage');
    assert.ok(runtime.some((l) => l.startsWith('HEALTHCHECK ')));
    assert.equal(runtime.at(-1), 'CMD ["node", "dist/src/server.js"]');
  });

  it('copies only files that exist, and the build config it names', () => {
    for (const file of [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'tsconfig.build.json',
      'src/server.ts',
      'mappings',
    ]) {
      assert.ok(fs.existsSync(path.join(root, file)), file);
    }
    const build = JSON.parse(
      fs.readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8'),
    ) as Json;
    assert.deepEqual(
      build.include,
      ['src'],
      'dist/src/server.js is where the build puts src/server.ts',
    );
  });

  it('.dockerignore keeps node_modules, data and .git out of the context', () => {
    const ignored = fs.readFileSync(path.join(root, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['node_modules', 'dist', 'data', '.git'])
      assert.ok(ignored.includes(entry), entry);
  });
});
