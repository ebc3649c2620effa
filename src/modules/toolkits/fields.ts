/**
 * Rules over a toolkit's fields, shared by every module that stores or checks credentials:
 * which values are secret, how a secret is shown when masked, and whether values fit the fields.
 */
import type { ToolkitField } from './toolkit-definition.js';

/** How a masked secret is shown. */
export const MASK = '********';

/** Names treated as secret even where the toolkit does not mark them so. */
export const SECRET_NAME = /secret|password|token|private|api_?key|credentials_json|basic_encoded/i;

/** The keys of `values` that are secret: declared so by the fields, or secret by name. */
export function secretKeys(fields: ToolkitField[], values: Record<string, unknown>): string[] {
  const declared = new Set(fields.filter((f) => f.is_secret).map((f) => f.name));
  return Object.keys(values).filter((k) => declared.has(k) || SECRET_NAME.test(k));
}

/** Problems of `values` against `fields` (`name: required`, `name: invalid format`, ...); empty when they fit. */
export function checkFields(fields: ToolkitField[], values: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const f of fields) {
    const v = values[f.name];
    if (v === undefined || v === null || v === '') {
      if (f.required) problems.push(`${f.name}: required`);
      continue;
    }
    if (typeof v !== 'string' && f.type !== 'number' && f.type !== 'boolean') problems.push(`${f.name}: must be a string`);
    // A field used in a URL carries a pattern (enforced by the catalogue schema): it keeps the value on the provider's host.
    else if (f.pattern && !new RegExp(f.pattern).test(String(v))) problems.push(`${f.name}: invalid format`);
  }
  return problems;
}
