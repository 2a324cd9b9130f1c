/**
 * `healthcare-fhir check <base-url> [--model <model>] [--install] [lookup…]` (a model of
 * src/api/models.ts, default patient):
 * runs each section in order and prints its lines; the exit code is 1 when a
 * section found a problem. Add a section by listing its module here.
 */
import { defaultModels, type ModelName } from '../../api/models.js';
import { readFhirConnectionEnv } from '../../config/fhir-connection-env.js';
import { parseBaseUrl } from '../../transport/http.js';
import { CliError, parseArgs, single } from '../options.js';
import { authSection } from './auth-section.js';
import { deleteSection } from './delete-section.js';
import { linkGuaranteeSection } from './link-guarantee-section.js';
import { planSection } from './plan-section.js';
import type { CheckContext, CheckSection } from './section.js';
import { tlsSection } from './tls-section.js';

export const checkSections: CheckSection[] = [
  authSection,
  tlsSection,
  planSection,
  deleteSection,
  linkGuaranteeSection,
];

/** The models `--model` names, from the model specs. */
const modelNames = Object.keys(defaultModels) as ModelName[];
const isModelName = (value: string | undefined): value is ModelName =>
  modelNames.includes(value as ModelName);

export function parseCheckArgs(args: string[], env: NodeJS.ProcessEnv): CheckContext {
  const parsed = parseArgs(args, ['model'], ['install']);
  const model = single(parsed, 'model', 'patient');
  if (!isModelName(model)) {
    throw new CliError(`--model must be ${modelNames.join(' or ')}`);
  }
  const install = parsed.flags.has('install');
  const positional = parsed.positionals;
  const [baseUrl, ...lookups] = positional;
  if (!baseUrl)
    throw new Error(
      `usage: healthcare-fhir check <base-url> [--model ${modelNames.join('|')}] [--install] [lookup…]`,
    );
  return {
    baseUrl: parseBaseUrl('check', baseUrl),
    // the URL checked is the argument, whatever FHIR_BASE_URL says
    connection: readFhirConnectionEnv({ ...env, FHIR_BASE_URL: baseUrl }),
    model,
    lookups,
    install,
  };
}

/** Runs every section, writing to `out`; resolves to the exit code. */
export async function runCheck(
  context: CheckContext,
  out: (text: string) => void,
  sections: CheckSection[] = checkSections,
): Promise<number> {
  let code = 0;
  for (const section of sections) {
    let result;
    try {
      result = await section.run(context);
    } catch (error) {
      result = { ok: false, lines: [`failed: ${(error as Error).message}`] };
    }
    out(`${section.title}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
    if (!result.ok) code = 1;
  }
  return code;
}
