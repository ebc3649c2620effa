/** Loads and validates the built-in catalogue (./catalogue/<slug>.json) once, at start-up. */
import { readFileSync, readdirSync } from 'node:fs';
import { type ToolkitDefinition, ToolkitDefinitionSchema } from './toolkit-definition.js';

export const CATALOGUE_DIR = new URL('./catalogue/', import.meta.url);

export function loadCatalogue(dir: URL = CATALOGUE_DIR): Map<string, ToolkitDefinition> {
  const out = new Map<string, ToolkitDefinition>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const parsed = ToolkitDefinitionSchema.safeParse(JSON.parse(readFileSync(new URL(file, dir), 'utf8')));
    if (!parsed.success) {
      throw new Error(`catalogue/${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    }
    if (`${parsed.data.slug}.json` !== file) throw new Error(`catalogue/${file} must hold slug ${file.slice(0, -5)}`);
    out.set(parsed.data.slug, parsed.data);
  }
  return out;
}
