/**
 * The CLI as users run it (`healthcare-fhir`, the package's bin: the compiled
 * `dist/src/cli/main.js`), for the benches that time whole CLI runs: compiled
 * JavaScript, not the sources through tsx, whose on-the-fly compiling at each
 * start (about a second here) is no part of what users wait for. Refuses a
 * build older than the sources (`npm run build` first).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Newest modification time (ms) of the files under `dir`. */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs);
  }
  return latest;
}

/** The node arguments that run the built CLI of the checkout at `root`, checked to be newer than its sources. */
export function builtCli(root: string): string[] {
  const main = path.join(root, 'dist', 'src', 'cli', 'main.js');
  if (!fs.existsSync(main) || fs.statSync(main).mtimeMs < newest(path.join(root, 'src')))
    throw new Error(`${root}: dist/ is missing or older than src/: run npm run build first`);
  return [main];
}
