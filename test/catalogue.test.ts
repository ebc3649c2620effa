/**
 * The built-in catalogue as data: every file is a valid definition named after its slug, the expected
 * toolkits are there, OAuth schemes are complete, secrets are marked, templates refer to real fields,
 * and every field that goes into a URL has a pattern that keeps the URL on the provider's host.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CATALOGUE_DIR, loadCatalogue } from '../src/modules/toolkits/catalogue.js';
import {
  type AuthSchemeDefinition,
  type ToolkitDefinition,
  type ToolkitField,
  ToolkitDefinitionSchema,
  templateNames,
} from '../src/modules/toolkits/toolkit-definition.js';

const files = readdirSync(CATALOGUE_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();
const raw = files.map((file) => ({ file, json: JSON.parse(readFileSync(new URL(file, CATALOGUE_DIR), 'utf8')) as unknown }));
const catalogue = loadCatalogue();
const toolkits = [...catalogue.values()];

/** Every (toolkit, scheme) pair, labelled for failure messages. */
const schemes: { label: string; t: ToolkitDefinition; s: AuthSchemeDefinition }[] = toolkits.flatMap((t) =>
  t.auth_schemes.map((s) => ({ label: `${t.slug}/${s.mode}`, t, s })),
);
const fieldsOf = (s: AuthSchemeDefinition): ToolkitField[] => [...s.fields.auth_config_creation, ...s.fields.connected_account_initiation];

const OAUTH_MODES = new Set(['OAUTH2', 'OAUTH1', 'DCR_OAUTH', 'CIMD_OAUTH', 'S2S_OAUTH2']);
/** Values a token exchange provides, usable in request_auth of OAuth schemes only. */
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

/** A legitimate value for each URL field the catalogue uses; a new URL field must be added here. */
const LEGIT: Record<string, string> = {
  subdomain: 'acme-co',
  shop_name: 'acme-co',
  instance_url: 'https://acme.my.salesforce.com',
};

describe('catalogue files', () => {
  it('has one valid definition per file, named <slug>.json', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    for (const { file, json } of raw) {
      const parsed = ToolkitDefinitionSchema.safeParse(json);
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

  it('gives every toolkit at least one auth scheme and https metadata', () => {
    for (const t of toolkits) {
      expect(t.auth_schemes.length, t.slug).toBeGreaterThan(0);
      for (const u of [t.logo, t.app_url, t.docs_url]) expect(u, t.slug).toMatch(/^https:\/\//);
    }
  });
});

describe('OAuth 2 schemes', () => {
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

  it('fills request_auth only from fields of the same scheme, or the access token in OAuth schemes', () => {
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

  it('declares every field used in a URL template, with an anchored pattern that rejects other hosts', () => {
    let checked = 0;
    for (const { label, t, s } of schemes) {
      const fields = new Map(fieldsOf(s).map((f) => [f.name, f]));
      const urls = [s.base_url ?? t.base_url, s.oauth2?.authorization_url, s.oauth2?.token_url, s.oauth2?.revocation_url];
      for (const name of urls.flatMap((u) => templateNames(u ?? ''))) {
        const f = fields.get(name);
        expect(f, `${label}: {{${name}}} is not a field`).toBeDefined();
        expect(f!.pattern, `${label}.${name} has no pattern`).toBeTruthy();
        expect(f!.pattern!, `${label}.${name} pattern is not anchored`).toMatch(/^\^.*\$$/);
        const re = new RegExp(f!.pattern!);
        for (const bad of HOSTILE) expect(re.test(bad), `${label}.${name} accepts ${JSON.stringify(bad)}`).toBe(false);
        expect(LEGIT[name], `no legitimate example for URL field ${name}`).toBeDefined();
        expect(re.test(LEGIT[name]!), `${label}.${name} rejects ${LEGIT[name]}`).toBe(true);
        checked++;
      }
    }
    // Zendesk, Shopify, Jira, Confluence and Salesforce use templated URLs.
    expect(checked).toBeGreaterThanOrEqual(5);
  });
});

describe('provider specifics', () => {
  const oauth2Of = (slug: string) => {
    const s = catalogue.get(slug)?.auth_schemes.find((x) => x.mode === 'OAUTH2');
    expect(s?.oauth2, `${slug} has an OAUTH2 scheme`).toBeDefined();
    return s!.oauth2!;
  };

  it('Google toolkits ask for offline access with consent', () => {
    const google = toolkits.filter((t) => t.auth_schemes.some((s) => s.oauth2?.authorization_url.startsWith('https://accounts.google.com/')));
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
