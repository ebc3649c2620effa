/**
 * The catalogue's size by verification status and by auth scheme, as the Markdown that the README's
 * "Catalogue" section shows. Run after entries change and paste the output there:
 *
 *   npm run catalogue:stats
 */
import { loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { AVAILABILITIES, type Availability, type ToolkitDefinition } from '../src/modules/toolkits/toolkit-definition.js';

export function catalogueStats(catalogue: Map<string, ToolkitDefinition>): string {
  const entries = [...catalogue.values()];
  const verified = entries.filter((t) => t.verification?.status === 'verified').length;
  const bySchemes = new Map<string, Record<Availability, number>>();
  for (const t of entries) {
    for (const s of t.auth_schemes) {
      const row = bySchemes.get(s.mode) ?? { available: 0, unverified: 0, unsupported: 0 };
      row[s.availability]++;
      bySchemes.set(s.mode, row);
    }
  }
  const total = (r: Record<Availability, number>) => AVAILABILITIES.reduce((n, a) => n + r[a], 0);
  const rows = [...bySchemes].sort(([a, x], [b, y]) => total(y) - total(x) || a.localeCompare(b));
  return [
    `${entries.length} toolkits: ${verified} verified against the provider's documentation, ${entries.length - verified} unverified (listed so the slug resolves; details left out rather than guessed).`,
    '',
    '| scheme | toolkits | connectable | unverified | unsupported |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows.map(([mode, r]) => `| ${mode} | ${total(r)} | ${r.available} | ${r.unverified} | ${r.unsupported} |`),
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(catalogueStats(loadCatalogue()));
