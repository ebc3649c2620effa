/**
 * The built-in catalogue (./catalogue/<slug>.json), read once per process. Every entry must pass
 * `CatalogueEntrySchema` (a toolkit that says how it was verified); one bad file stops the start
 * with the file and the problem named.
 *
 * Validating 500-odd entries costs tens of milliseconds, so `npm run build` does it once and writes
 * the result as one file (`catalogue.compiled.json` beside the built module, see
 * scripts/copy-assets.mjs); a built server reads that file and skips the validation. Run from source
 * (tests, `npm run dev`) there is no compiled file and the directory is read and validated.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { CatalogueEntrySchema, type ToolkitDefinition } from './toolkit-definition.js';

export const CATALOGUE_DIR = new URL('./catalogue/', import.meta.url);
export const COMPILED_CATALOGUE = new URL('./catalogue.compiled.json', import.meta.url);

export function loadCatalogue(dir: URL = CATALOGUE_DIR): Map<string, ToolkitDefinition> {
  const out = new Map<string, ToolkitDefinition>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const parsed = CatalogueEntrySchema.safeParse(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
    if (!parsed.success) {
      throw new Error(`catalogue/${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    if (`${parsed.data.slug}.json` !== file) throw new Error(`catalogue/${file} must hold slug ${file.slice(0, -5)}`);
    out.set(parsed.data.slug, parsed.data);
  }
  return out;
}

/** The validated catalogue as one file: the parsed entries (defaults filled in), ordered by slug. */
export function compileCatalogue(catalogue: Map<string, ToolkitDefinition>): string {
  return JSON.stringify({ entries: [...catalogue.values()] });
}

/** Reads a file `compileCatalogue` wrote. It was validated when written, so it is not again. */
export function readCompiledCatalogue(file: URL): Map<string, ToolkitDefinition> {
  const { entries } = JSON.parse(readFileSync(file, 'utf8')) as { entries: ToolkitDefinition[] };
  return new Map(entries.map((e) => [e.slug, e]));
}

let builtIn: Map<string, ToolkitDefinition> | undefined;

/** The built-in catalogue, loaded on first use and shared by every app in the process. */
export function builtInCatalogue(): Map<string, ToolkitDefinition> {
  builtIn ??= existsSync(COMPILED_CATALOGUE) ? readCompiledCatalogue(COMPILED_CATALOGUE) : loadCatalogue();
  return builtIn;
}
