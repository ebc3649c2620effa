/**
 * The one registry of category names. A category id is Composio's (`developer-tools-&-devops`); its
 * name is the id's words in Title Case with acronyms upper-case (`crm-integration` → "CRM Integration"),
 * so the catalogue, the stub writer and the API agree without a hand-kept table of 400 names. The catalogue check holds every entry's names to this function.
 */

/** Words written in a fixed way rather than capitalised. */
const FIXED: Record<string, string> = {
  ai: 'AI',
  api: 'API',
  apis: 'APIs',
  b2b: 'B2B',
  cdn: 'CDN',
  cms: 'CMS',
  crm: 'CRM',
  devops: 'DevOps',
  dns: 'DNS',
  erp: 'ERP',
  hr: 'HR',
  iot: 'IoT',
  it: 'IT',
  lms: 'LMS',
  nft: 'NFT',
  pdf: 'PDF',
  qr: 'QR',
  saas: 'SaaS',
  seo: 'SEO',
  sms: 'SMS',
  url: 'URL',
  web3: 'Web3',
};

/** Short words kept lower-case inside a name ("Internet of Things", "Backend as a Service"). */
const MINOR = new Set(['a', 'an', 'and', 'as', 'for', 'in', 'of', 'on', 'or', 'the', 'to']);

function word(w: string): string {
  // Keep brackets and slashes where they are: "(customer" → "(Customer", "ai/computer" → "AI/Computer".
  return w
    .split('/')
    .map((part) => {
      const m = /^(\(?)([^()]*)(\)?)$/.exec(part);
      if (!m) return part;
      const core = m[2]!;
      const named = FIXED[core] ?? (core ? core[0]!.toUpperCase() + core.slice(1) : core);
      return `${m[1]}${named}${m[3]}`;
    })
    .join('/');
}

/** The display name of a category id. */
export function categoryName(id: string): string {
  const words = id.split('-');
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    // "e-commerce", "e-learning": one word with its hyphen.
    if (words[i] === 'e' && i + 1 < words.length) {
      out.push(`E-${word(words[++i]!)}`);
      continue;
    }
    out.push(i > 0 && MINOR.has(words[i]!) ? words[i]! : word(words[i]!));
  }
  return out.join(' ');
}

export type Category = { id: string; name: string };

/** The categories the given toolkits use, once each, ordered by id. */
export function categoriesOf(toolkits: Iterable<{ categories: { slug: string }[] }>): Category[] {
  const ids = new Set<string>();
  for (const t of toolkits) for (const c of t.categories) ids.add(c.slug);
  return [...ids].sort().map((id) => ({ id, name: categoryName(id) }));
}
