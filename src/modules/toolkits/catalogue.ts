/**
 * Loads and validates the built-in catalogue (./catalogue/<slug>.json) once per process, at start-up.
 * Every entry must pass `CatalogueEntrySchema` (a toolkit that says how it was verified); one bad
 * file stops the start with the file and the problem named.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { CatalogueEntrySchema, type ToolkitDefinition } from './toolkit-definition.js';

export const CATALOGUE_DIR = new URL('./catalogue/', import.meta.url);

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

let builtIn: Map<string, ToolkitDefinition> | undefined;

/** The built-in catalogue, read and validated on first use and shared by every app in the process. */
export function builtInCatalogue(): Map<string, ToolkitDefinition> {
  builtIn ??= loadCatalogue();
  return builtIn;
}
