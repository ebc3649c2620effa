/**
 * The built-in catalogue as data: every file is a valid entry named after its slug, slugs are unique,
 * the expected toolkits are there, verified entries name their sources, endpoints are https on public
 * hosts, available OAuth schemes are complete with well-formed scopes, secrets are marked, templates
 * refer to real fields, and every field that goes into a URL has a pattern that keeps the URL on the
 * provider's host. (The slugs against Composio's index: catalogue-reference.test.ts.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { urlProblem } from '../src/modules/egress/addresses.js';
import { CATALOGUE_DIR, loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import { categoryName } from '../src/modules/toolkits/categories.js';
import {
  type AuthSchemeDefinition,
  CatalogueEntrySchema,
  type ToolkitDefinition,
  type ToolkitField,
  schemeUrls,
  templateNames,
} from '../src/modules/toolkits/toolkit-definition.js';

const files = readdirSync(CATALOGUE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const raw = files.map((file) => ({ file, json: JSON.parse(readFileSync(new URL(file, CATALOGUE_DIR), 'utf8')) as unknown }));
const catalogue = loadCatalogue();
const toolkits = [...catalogue.values()];

/** Every (toolkit, scheme) pair, labelled for failure messages. */
const allSchemes: { label: string; t: ToolkitDefinition; s: AuthSchemeDefinition }[] = toolkits.flatMap((t) =>
  t.auth_schemes.map((s) => ({ label: `${t.slug}/${s.mode}`, t, s })),
);
/** The schemes Latchkey connects: their details are complete (unverified ones may leave them out). */
const schemes = allSchemes.filter(({ s }) => s.availability === 'available');
const verified = toolkits.filter((t) => t.verification?.status === 'verified');
const fieldsOf = (s: AuthSchemeDefinition): ToolkitField[] => [...s.fields.auth_config_creation, ...s.fields.connected_account_initiation];

/** Schemes whose access token comes from a token endpoint (OAuth, or minted by Latchkey from a key). */
const OAUTH_MODES = new Set(['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH', 'S2S_OAUTH2', 'GOOGLE_SERVICE_ACCOUNT', 'SERVICE_ACCOUNT']);
/** Values a token exchange provides, usable in request_auth of those schemes only. */
const TOKEN_FIELDS = new Set(['access_token']);

const EXPECTED = [
  'github', 'gitlab', 'gmail', 'googlecalendar', 'googledrive', 'googlesheets', 'slack', 'discord', 'notion', 'linear',
  'jira', 'asana', 'hubspot', 'salesforce', 'shopify', 'zendesk', 'stripe', 'twilio', 'sendgrid', 'airtable', 'dropbox',
  'zoom', 'outlook', 'twitter', 'openai', 'anthropic',
];

/** Values that would move a templated URL to another host, or smuggle something into it. */
const HOSTILE = [
  'evil.com/',
  'a@b',
  'x.attacker.net#',
  'evil.com',
  'acme.evil.com',
  'a/b',
  'a?b',
  'a:443',
  'a\\b',
  'a%2F',
  'acme\n',
  'acme ',
  '',
  'https://evil.com',
  'https://evil.com/',
  'https://acme.salesforce.com@evil.com',
  'https://acme.salesforce.com.evil.com',
  'https://evil.com#.salesforce.com',
  'https://evil.com/.salesforce.com',
  'https://evil.com?.salesforce.com',
];

/** Legitimate values of URL fields whose patterns the generic examples below do not fit. */
const LEGIT: Record<string, string> = {
  instance_url: 'https://acme.my.salesforce.com',
};
/** Generic examples tried in turn for any other URL field: a label, a number, a region code. */
const EXAMPLES = ['acme-co', 'acme', 'acme123', '123456', 'us1'];

/**
 * An example a simple anchored pattern describes: optional groups dropped, the first alternative of
 * a group, one of each character class's first character per required repetition (`[a-z0-9-]{0,62}`
 * → "a", `[0-9]{2}` → "00"), escapes unescaped. Enough for the host and label patterns entries use.
 */
function exampleOf(pattern: string): string {
  let p = pattern.replace(/^\^/, '').replace(/\$$/, '');
  p = p.replace(/\((?:[^()\\]|\\.)*\)\?/g, '');
  p = p.replace(/\(((?:[^()|\\]|\\.)*)(?:\|(?:[^()\\]|\\.)*)*\)/g, '$1');
  p = p.replace(/\[(\\?.)[^\]]*\](\{(\d+)(?:,\d*)?\}|[+*?])?/g, (_m, first: string, q: string | undefined, min: string | undefined) =>
    first.replace(/^\\/, '').repeat(Math.max(1, q?.startsWith('{') ? Number(min) : 1)),
  );
  return p.replace(/\\d/g, '0').replace(/\\(.)/g, '$1');
}

/** A value the field's pattern accepts: a known one, a generic example, or one made from the pattern. */
function legitValue(name: string, pattern: string): string | undefined {
  const re = new RegExp(pattern);
  return [LEGIT[name], ...EXAMPLES, exampleOf(pattern)].find((v): v is string => v !== undefined && re.test(v));
}

/**
 * Where a templated URL may go whatever its fields hold: the literal host when the placeholders are
 * only in the path, else the literal host suffix after the last placeholder in the host
 * (`.zendesk.com`), or "" when the placeholder is the whole host.
 */
function fixedHost(template: string): { host: string } | { suffix: string } {
  const authority = /^https:\/\/([^/?#]*)/.exec(template)?.[1];
  if (authority === undefined) return { suffix: '' };
  if (!templateNames(authority).length) return { host: authority };
  return { suffix: authority.slice(authority.lastIndexOf('}}') + 2).replace(/:\d+$/, '') };
}

describe('catalogue files', () => {
  it('has one valid definition per file, named <slug>.json', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const { file, json } of raw) {
      const parsed = CatalogueEntrySchema.safeParse(json);
      expect(parsed.success, `${file}: ${parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`).toBe(true);
      expect(file).toBe(`${parsed.data!.slug}.json`);
    }
  });

  it('loads through loadCatalogue with every file, keyed by slug', () => {
    expect(catalogue.size).toBe(files.length);
    expect(catalogue.size).toBeGreaterThanOrEqual(30);
    expect([...catalogue.keys()].map((k) => `${k}.json`).sort()).toEqual(files);
    for (const [slug, t] of catalogue) expect(t.slug).toBe(slug);
  });

  it('contains the expected toolkits', () => {
    const missing = EXPECTED.filter((s) => !catalogue.has(s));
    expect(missing).toEqual([]);
  });

  it('has unique slugs, also ignoring case, and no two entries with one name', () => {
    const slugs = raw.map(({ json }) => String((json as { slug: string }).slug).toLowerCase());
    expect(slugs.filter((s, i) => slugs.indexOf(s) !== i)).toEqual([]);
    const names = toolkits.map((t) => t.name.toLowerCase());
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('gives every toolkit at least one auth scheme and a one-line description', () => {
    for (const t of toolkits) {
      expect(t.auth_schemes.length, t.slug).toBeGreaterThan(0);
      expect(t.description, t.slug).not.toMatch(/[\r\n]/);
      expect(t.description.length, t.slug).toBeLessThanOrEqual(200);
    }
  });

  it('names each category as the registry does (Title Case, acronyms upper-case)', () => {
    const loose = (s: string) => s.toLowerCase().replace(/[^a-z0-9&/()]+/g, '');
    const wrong = toolkits.flatMap((t) => t.categories.filter((c) => loose(c.name) !== loose(categoryName(c.slug))).map((c) => `${t.slug}: ${c.slug} "${c.name}"`));
    expect(wrong).toEqual([]);
    expect(categoryName('crm-(customer-relationship-management)')).toBe('CRM (Customer Relationship Management)');
    expect(categoryName('developer-tools-&-devops')).toBe('Developer Tools & DevOps');
    expect(categoryName('e-commerce')).toBe('E-Commerce');
    expect(categoryName('internet-of-things-(iot)')).toBe('Internet of Things (IoT)');
  });
});

describe('verification', () => {
  it('every verified entry names its docs, app and API URLs and the provider pages it was checked against', () => {
    expect(verified.length).toBeGreaterThanOrEqual(30);
    for (const t of verified) {
      expect(t.docs_url, t.slug).toMatch(/^https:\/\//);
      expect(t.app_url, t.slug).toMatch(/^https:\/\//);
      // An MCP server by URL has no fixed base: its API is the resource discovered from the config's URL.
      const discovered = t.auth_schemes.every((s) => s.mode === 'DCR_OAUTH' || s.mode === 'CIMD_OAUTH');
      if (!discovered) expect(t.base_url, t.slug).toMatch(/^(https:\/\/|\{\{instance_url\}\})/);
      expect(t.verification!.checked_on, t.slug).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(t.verification!.sources.length, t.slug).toBeGreaterThan(0);
      for (const u of t.verification!.sources) expect(u, t.slug).toMatch(/^https:\/\/[^/\s]+/);
    }
  });

  it('an unsupported scheme says why', () => {
    const unsupported = allSchemes.filter(({ s }) => s.availability === 'unsupported');
    expect(unsupported.length).toBeGreaterThan(0);
    for (const { label, s } of unsupported) expect(s.note, label).toBeTruthy();
  });

  it('rejects a verified entry without sources or date, and an unsupported scheme without a note', () => {
    const base = structuredClone(raw.find(({ file }) => file === 'hubspot.json')!.json) as Record<string, unknown>;
    expect(CatalogueEntrySchema.safeParse({ ...base, verification: { status: 'verified', sources: [] } }).success).toBe(false);
    expect(CatalogueEntrySchema.safeParse({ ...base, verification: undefined }).success).toBe(false);
    expect(CatalogueEntrySchema.safeParse({ ...base, docs_url: undefined }).success).toBe(false);
    const schemesOf = (base.auth_schemes as Record<string, unknown>[]).map((x) => ({ ...x, availability: 'unsupported' }));
    expect(CatalogueEntrySchema.safeParse({ ...base, auth_schemes: schemesOf }).success).toBe(false);
    // Unverified: the facts not confirmed are left out, and that is valid.
    const bare = { slug: 'acme', name: 'Acme', description: 'Acme: CRM.', categories: [{ slug: 'crm', name: 'CRM' }], verification: { status: 'unverified' } };
    expect(CatalogueEntrySchema.safeParse({ ...bare, auth_schemes: [{ mode: 'OAUTH2', name: 'Acme OAuth', availability: 'unverified', fields: {} }] }).success).toBe(true);
    expect(CatalogueEntrySchema.safeParse({ ...bare, auth_schemes: [{ mode: 'OAUTH2', name: 'Acme OAuth', fields: {} }] }).success, 'an available OAuth2 scheme needs its details').toBe(false);
  });
});

describe('endpoints', () => {
  const publicOnly = { allowPrivate: false, allowLoopback: false };
  const urlsOf = (t: ToolkitDefinition) => [
    ...[t.logo, t.app_url, t.docs_url, ...(t.verification?.sources ?? [])].filter((u): u is string => !!u),
    ...t.auth_schemes.flatMap((s) => [...schemeUrls(t, s), ...(s.auth_hint_url ? [s.auth_hint_url] : [])]),
  ];

  it('are https on public hosts, judged by the egress rules', () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const t of toolkits) {
      for (const written of urlsOf(t)) {
        // A URL that is one field's value throughout (Salesforce's {{instance_url}}) is judged with a
        // legitimate value of that field; its pattern keeps every value on the provider (checked below).
        const url = written.replace(/^\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/, (m, name: string) => LEGIT[name] ?? m);
        checked++;
        if (!url.startsWith('https://')) wrong.push(`${t.slug}: ${url} is not https`);
        const problem = urlProblem(url, publicOnly);
        if (problem) wrong.push(`${t.slug}: ${url} ${problem}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  it('the check itself refuses loopback and private hosts, and takes a templated public one', () => {
    expect(urlProblem('https://127.0.0.1/oauth/token', publicOnly)).toBeDefined();
    expect(urlProblem('https://10.1.2.3/x', publicOnly)).toBeDefined();
    expect(urlProblem('https://metadata.google.internal/x', publicOnly)).toBeDefined();
    expect(urlProblem('https://{{subdomain}}.zendesk.com/api/v2', publicOnly)).toBeUndefined();
  });
});

describe('OAuth 2 schemes', () => {
  /** One scope: printable, no whitespace, no separator of the scheme inside it. */
  const scopeOk = (scope: string, sep: string) => /^[\x21-\x7e]+$/.test(scope) && !scope.includes(sep === '+' ? '+' : sep) && !/\s/.test(scope);

  it('have well-formed default scopes: printable, no separator inside one, no duplicates', () => {
    const wrong: string[] = [];
    for (const { label, s } of schemes.filter(({ s }) => s.oauth2)) {
      const o = s.oauth2!;
      for (const list of [o.default_scopes, o.default_user_scopes ?? []]) {
        for (const scope of list) if (!scopeOk(scope, o.scope_separator)) wrong.push(`${label}: ${JSON.stringify(scope)}`);
        if (new Set(list).size !== list.length) wrong.push(`${label}: duplicate scopes`);
      }
    }
    expect(wrong).toEqual([]);
    expect(scopeOk('crm.objects.contacts.read', ' ')).toBe(true);
    expect(scopeOk('a b', ' ')).toBe(false);
    expect(scopeOk('channels:read,chat:write', ',')).toBe(false);
  });

  const oauth = schemes.filter(({ s }) => s.mode === 'OAUTH2');

  it('exist', () => {
    expect(oauth.length).toBeGreaterThan(10);
  });

  it('have https authorization, token and revocation URLs', () => {
    for (const { label, s } of oauth) {
      expect(s.oauth2, label).toBeDefined();
      expect(s.oauth2!.authorization_url, label).toMatch(/^https:\/\/[^/\s]+/);
      expect(s.oauth2!.token_url, label).toMatch(/^https:\/\/[^/\s]+/);
      if (s.oauth2!.revocation_url) expect(s.oauth2!.revocation_url, label).toMatch(/^https:\/\/[^/\s]+/);
    }
  });

  it('ask the developer for client_id and a secret client_secret', () => {
    for (const { label, s } of oauth) {
      const creation = new Map(s.fields.auth_config_creation.map((f) => [f.name, f]));
      expect(creation.get('client_id'), label).toMatchObject({ required: true, is_secret: false });
      expect(creation.get('client_secret'), label).toMatchObject({ required: true, is_secret: true });
    }
  });

  it('put the access token on requests', () => {
    for (const { label, s } of oauth) {
      const values = s.request_auth.flatMap((r) => (r.in === 'basic' ? [r.username, r.password] : [r.value]));
      expect(values.some((v) => templateNames(v).includes('access_token')), label).toBe(true);
    }
  });
});

describe('fields and templates', () => {
  it('marks every secret-looking field as secret', () => {
    const secretName = /^(api_key|token|password|client_secret)$|(_secret|_token|_password|_api_key)$/;
    const wrong = schemes.flatMap(({ label, s }) =>
      fieldsOf(s)
        .filter((f) => secretName.test(f.name) && !f.is_secret)
        .map((f) => `${label}.${f.name}`),
    );
    expect(wrong).toEqual([]);
    // The check above must have had something to look at.
    expect(schemes.flatMap(({ s }) => fieldsOf(s)).filter((f) => secretName.test(f.name)).length).toBeGreaterThan(30);
  });

  it('fills request_auth only from fields of the same scheme, or the access token in OAuth and minted-token schemes', () => {
    const wrong: string[] = [];
    for (const { label, s } of schemes) {
      const names = new Set(fieldsOf(s).map((f) => f.name));
      for (const r of s.request_auth) {
        const templates = r.in === 'basic' ? [r.username, r.password] : [r.value];
        for (const name of templates.flatMap(templateNames)) {
          const ok = names.has(name) || (OAUTH_MODES.has(s.mode) && TOKEN_FIELDS.has(name));
          if (!ok) wrong.push(`${label}: {{${name}}}`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });

  it('gives non-OAuth schemes a request_auth that uses one of their fields', () => {
    for (const { label, s } of schemes.filter(({ s }) => !OAUTH_MODES.has(s.mode) && s.mode !== 'NO_AUTH')) {
      const templates = s.request_auth.flatMap((r) => (r.in === 'basic' ? [r.username, r.password] : [r.value]));
      expect(templates.flatMap(templateNames).length, label).toBeGreaterThan(0);
    }
  });

  it('declares every field used in a URL template, with an anchored pattern that keeps the URL on the provider', () => {
    let checked = 0;
    for (const { label, t, s } of schemes) {
      const fields = new Map(fieldsOf(s).map((f) => [f.name, f]));
      for (const url of schemeUrls(t, s)) {
        const names = templateNames(url);
        for (const name of names) {
          const f = fields.get(name);
          expect(f, `${label}: {{${name}}} is not a field`).toBeDefined();
          expect(f!.pattern, `${label}.${name} has no pattern`).toBeTruthy();
          expect(f!.pattern!, `${label}.${name} pattern is not anchored`).toMatch(/^\^.*\$$/);
        }
        const legit = new Map(names.map((n) => [n, legitValue(n, fields.get(n)!.pattern!)]));
        for (const [n, v] of legit) expect(v, `${label}.${n}: no legitimate example matches its pattern; add one to LEGIT`).toBeDefined();
        const fill = (name: string, value: string) => url.replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_m, n: string) => (n === name ? value : legit.get(n)!));
        const where = fixedHost(url);
        for (const name of names) {
          const re = new RegExp(fields.get(name)!.pattern!);
          // Every value the pattern lets through, filled in, must leave the URL on the provider's host.
          for (const bad of HOSTILE.filter((v) => re.test(v))) {
            let u: URL;
            try {
              u = new URL(fill(name, bad));
            } catch {
              continue; // not a URL at all: nothing is called
            }
            const on =
              'host' in where
                ? u.host === where.host
                : /^\.[^.]+\.[^.]+/.test(where.suffix) && u.hostname.endsWith(where.suffix) && !u.username && !u.password;
            expect(on, `${label}.${name} = ${JSON.stringify(bad)} moves ${url} to ${u.host}`).toBe(true);
          }
          expect(re.test(legit.get(name)!), `${label}.${name} rejects ${legit.get(name)}`).toBe(true);
          checked++;
        }
      }
    }
    // Zendesk, Shopify, Jira, Confluence and Salesforce use templated URLs.
    expect(checked).toBeGreaterThanOrEqual(5);
    // The rule itself: a host-wide placeholder admits no hostile value; a prefix one keeps its suffix.
    expect(fixedHost('{{instance_url}}/services/data')).toEqual({ suffix: '' });
    expect(fixedHost('https://{{subdomain}}.zendesk.com/api/v2')).toEqual({ suffix: '.zendesk.com' });
    expect(fixedHost('https://api.recruitee.com/c/{{company_id}}')).toEqual({ host: 'api.recruitee.com' });
    expect(exampleOf('^[a-z0-9][a-z0-9-]{0,62}(\\.[a-z]{2})?\\.auth0\\.com$')).toBe('aa.auth0.com');
    expect(exampleOf('^(us-east-1|us-west-2)$')).toBe('us-east-1');
  });
});

describe('provider specifics', () => {
  const oauth2Of = (slug: string) => {
    const s = catalogue.get(slug)?.auth_schemes.find((x) => x.mode === 'OAUTH2');
    expect(s?.oauth2, `${slug} has an OAUTH2 scheme`).toBeDefined();
    return s!.oauth2!;
  };

  it('Google toolkits ask for offline access with consent', () => {
    const google = toolkits.filter((t) => t.auth_schemes.some((s) => s.oauth2?.authorization_url.startsWith('https://accounts.google.com/') && s.availability === 'available'));
    expect(google.map((t) => t.slug)).toEqual(expect.arrayContaining(['gmail', 'googlecalendar', 'googledrive', 'googlesheets']));
    for (const slug of [...new Set([...google.map((t) => t.slug), 'gmail', 'googlecalendar', 'googledrive', 'googlesheets'])]) {
      expect(oauth2Of(slug).authorize_params, slug).toMatchObject({ access_type: 'offline', prompt: 'consent' });
    }
  });

  it("GitHub's OAuth app tokens do not expire", () => {
    expect(oauth2Of('github').tokens_expire).toBe(false);
  });

  it('Notion authenticates at the token endpoint with client_secret_basic', () => {
    expect(oauth2Of('notion').token_endpoint_auth_method).toBe('client_secret_basic');
  });

  it('Slack separates scopes with commas', () => {
    expect(oauth2Of('slack').scope_separator).toBe(',');
  });
});
