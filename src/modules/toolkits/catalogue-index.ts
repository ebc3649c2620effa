/**
 * Lists over the catalogue without walking every definition on every request: built-in entries are
 * indexed once (ordered by slug, grouped by category, with a lower-cased search text each), and a
 * project's own toolkits, usually few, are indexed per request and merged in.
 */
import { type Category, categoriesOf } from './categories.js';
import type { ToolkitDefinition } from './toolkit-definition.js';

export type ResolvedToolkit = {
  definition: ToolkitDefinition;
  type: 'native' | 'custom';
  createdAt: Date;
  updatedAt: Date;
};

export type IndexedToolkit = ResolvedToolkit & {
  /** slug, name and description, lower-cased: what `search` matches. */
  text: string;
  /** Category ids and lower-cased names: what `category` matches (Composio takes either). */
  categoryKeys: Set<string>;
};

export function indexed(t: ResolvedToolkit): IndexedToolkit {
  const d = t.definition;
  return {
    ...t,
    text: `${d.slug}\n${d.name}\n${d.description}`.toLowerCase(),
    categoryKeys: new Set(d.categories.flatMap((c) => [c.slug, c.name.toLowerCase()])),
  };
}

export type CatalogueIndex = ReturnType<typeof catalogueIndex>;

export function catalogueIndex(builtIn: ResolvedToolkit[]) {
  const all = builtIn.map(indexed).sort((a, b) => (a.definition.slug < b.definition.slug ? -1 : 1));
  const byCategory = new Map<string, IndexedToolkit[]>();
  for (const t of all) {
    for (const key of t.categoryKeys) {
      const list = byCategory.get(key) ?? [];
      list.push(t);
      byCategory.set(key, list);
    }
  }
  const categories: Category[] = categoriesOf(builtIn.map((t) => t.definition));
  return {
    /** Every built-in toolkit, ordered by slug. */
    all,
    categories,
    /** The built-in toolkits in a category (by id or lower-cased name), ordered by slug. */
    inCategory: (key: string): IndexedToolkit[] => byCategory.get(key) ?? [],
  };
}

/** Two lists ordered by slug, as one (a project's own slugs never equal a built-in one). */
export function mergeBySlug(a: IndexedToolkit[], b: IndexedToolkit[]): IndexedToolkit[] {
  if (!b.length) return a;
  if (!a.length) return b;
  const out: IndexedToolkit[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]!.definition.slug < b[j]!.definition.slug)) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
