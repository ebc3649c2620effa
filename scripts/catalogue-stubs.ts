/**
 * Writes an `unverified` entry for every toolkit of Composio's index (test/fixtures/
 * composio-toolkit-index.json) that has no file in src/modules/toolkits/catalogue/ yet, so that every
 * Composio slug resolves. A stub holds only what the index states: the name, the categories, a
 * description built from them, and each scheme the provider offers, marked `unverified` (or
 * `unsupported` where Latchkey cannot connect it). No endpoint, field or request rule is written:
 * those come with a verified entry, which replaces the stub. Existing files are never touched.
 *
 *   npx tsx scripts/catalogue-stubs.ts          # write the missing stubs
 *   npx tsx scripts/catalogue-stubs.ts --check  # exit 1 if any would be written
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { categoryName } from '../src/modules/toolkits/categories.js';
import { CATALOGUE_DIR } from '../src/modules/toolkits/catalogue.js';
import { type AuthScheme, CatalogueEntrySchema, type ToolkitDefinitionInput } from '../src/modules/toolkits/toolkit-definition.js';

export const REFERENCE = new URL('../test/fixtures/composio-toolkit-index.json', import.meta.url);

export type ReferenceToolkit = { slug: string; name: string; auth_schemes: AuthScheme[]; categories: string[] };

export function readReference(): ReferenceToolkit[] {
  return (JSON.parse(readFileSync(REFERENCE, 'utf8')) as { toolkits: ReferenceToolkit[] }).toolkits;
}

/** Schemes the reference lists that Latchkey will not connect, with the reason shown to clients. */
export const UNSUPPORTED: Partial<Record<AuthScheme, string>> = {
  SAML: 'Latchkey does not connect accounts through SAML single sign-on.',
  BILLCOM_AUTH: "Bill.com's session sign-in is not supported by Latchkey.",
  CALCOM_AUTH: "Cal.com's own sign-in scheme is not supported by Latchkey.",
  BASIC_WITH_JWT: 'Basic credentials exchanged for a JWT are not supported by Latchkey.',
};

const SCHEME_LABEL: Record<AuthScheme, string> = {
  OAUTH2: 'OAuth 2.0',
  OAUTH1: 'OAuth 1.0a',
  API_KEY: 'API Key',
  BASIC: 'Basic Auth',
  BILLCOM_AUTH: 'Bill.com Auth',
  BEARER_TOKEN: 'Bearer Token',
  GOOGLE_SERVICE_ACCOUNT: 'Google Service Account',
  NO_AUTH: 'No Auth',
  BASIC_WITH_JWT: 'Basic with JWT',
  CALCOM_AUTH: 'Cal.com Auth',
  SERVICE_ACCOUNT: 'Service Account',
  SAML: 'SAML',
  DCR_OAUTH: 'OAuth (dynamic client registration)',
  CIMD_OAUTH: 'OAuth (client ID metadata document)',
  S2S_OAUTH2: 'Server-to-Server OAuth',
};

/** "A, B and C". */
const inWords = (xs: string[]) => (xs.length < 2 ? xs.join('') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`);

export function stubOf(r: ReferenceToolkit): ToolkitDefinitionInput {
  const categories = r.categories.map((id) => ({ slug: id, name: categoryName(id) }));
  return {
    slug: r.slug,
    name: r.name,
    // Accurate from the index alone: what the provider is filed under, in words.
    description: `${r.name}: ${inWords(categories.map((c) => c.name))}.`,
    categories,
    verification: {
      status: 'unverified',
      note: "Listed so that the slug resolves; its endpoints, fields and request rules have not been checked against the provider's documentation yet.",
    },
    auth_schemes: [...new Set(r.auth_schemes)].map((mode) => ({
      mode,
      name: `${r.name} ${SCHEME_LABEL[mode]}`,
      ...(UNSUPPORTED[mode] ? { availability: 'unsupported' as const, note: UNSUPPORTED[mode] } : { availability: 'unverified' as const }),
      fields: { auth_config_creation: [], connected_account_initiation: [] },
      request_auth: [],
    })),
  };
}

function main() {
  const check = process.argv.includes('--check');
  const missing = readReference().filter((r) => !existsSync(new URL(`${r.slug}.json`, CATALOGUE_DIR)));
  for (const r of missing) {
    const stub = stubOf(r);
    const parsed = CatalogueEntrySchema.safeParse(stub);
    if (!parsed.success) throw new Error(`stub for ${r.slug} is invalid: ${parsed.error.message}`);
    if (!check) writeFileSync(new URL(`${r.slug}.json`, CATALOGUE_DIR), `${JSON.stringify(stub, null, 2)}\n`);
  }
  console.log(`${missing.length} stub(s) ${check ? 'missing' : 'written'}`);
  if (check && missing.length) process.exitCode = 1;
}

if (import.meta.url === `file://${process.argv[1]}`) main();
