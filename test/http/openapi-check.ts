/**
 * Checks actual responses against the facade's own /openapi.json: the status
 * is documented for the operation, the content type is the documented one,
 * and the body validates against the documented schema (ajv, JSON Schema 2020-12).
 */
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Answer } from './helpers.js';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

type Json = Record<string, unknown>;

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

export class OpenApiChecker {
  private readonly ajv: Ajv2020;
  /** method template → statuses seen, for the coverage check. */
  readonly seen = new Map<string, Set<string>>();

  constructor(readonly document: Json) {
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.ajv);
    this.ajv.addSchema(document, 'https://facade.test/openapi.json');
  }

  /** Validates one answer; `template` is the OpenAPI path, e.g. `/patients/{id}`. */
  check(answer: Answer, method: string, template: string): void {
    const paths = this.document.paths as Record<string, Json>;
    const pathItem = paths[template];
    assert.ok(pathItem, `${template} is documented`);
    const operation = pathItem[method.toLowerCase()] as Json | undefined;
    assert.ok(operation, `${method} ${template} is documented`);
    const status = String(answer.status);
    let responses = operation.responses as Record<string, Json>;
    let pointer = `/paths/${escape(template)}/${method.toLowerCase()}/responses/${status}`;
    let response = responses[status];
    assert.ok(response, `${method} ${template} documents status ${status}`);
    const key = `${method} ${template}`;
    if (!this.seen.has(key)) this.seen.set(key, new Set());
    this.seen.get(key)!.add(status);
    const reference = response.$ref;
    if (typeof reference === 'string') {
      pointer = reference.slice(1);
      const name = reference.split('/').pop()!;
      responses = (this.document.components as Json).responses as Record<string, Json>;
      response = responses[name]!;
      assert.ok(response, `response ${reference} exists`);
    }
    const content = response.content as Record<string, Json> | undefined;
    if (!content) {
      assert.equal(answer.text, '', `${method} ${template} ${status} has no body`);
      return;
    }
    const mediaType = (answer.headers.get('content-type') ?? '').split(';')[0]!.trim();
    assert.ok(
      content[mediaType],
      `${method} ${template} ${status} documents content type ${mediaType}`,
    );
    const validate = this.ajv.compile({
      $ref: `https://facade.test/openapi.json#${pointer}/content/${escape(mediaType)}/schema`,
    });
    // NDJSON: the schema is each line's
    const bodies =
      mediaType === 'application/x-ndjson'
        ? answer.text
            .split('\n')
            .filter((line) => line !== '')
            .map((line) => JSON.parse(line) as unknown)
        : [answer.json];
    for (const body of bodies) {
      if (!validate(body)) {
        assert.fail(
          `${method} ${template} ${status} body does not match its schema: ${(validate.errors ?? [])
            .map((e) => `${e.instancePath || '(body)'} ${e.message} ${JSON.stringify(e.params)}`)
            .join('; ')}`,
        );
      }
    }
  }
}
