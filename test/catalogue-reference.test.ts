/**
 * The catalogue against Composio's index (test/fixtures/composio-toolkit-index.json): every slug
 * there has an entry here, spelt the same, unless it is marked as not offered with a reason; every
 * entry here is either in the index or a deliberate addition. Also: the stub writer makes valid
 * entries from the index alone, and the compiled catalogue a built server loads is the catalogue.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type ReferenceToolkit, UNSUPPORTED, readReference, stubOf } from '../scripts/catalogue-stubs.js';
import { compileCatalogue, loadCatalogue, readCompiledCatalogue } from '../src/modules/toolkits/catalogue.js';
import { categoryName } from '../src/modules/toolkits/categories.js';
import { CatalogueEntrySchema } from '../src/modules/toolkits/toolkit-definition.js';

const reference = readReference();
const exceptions = JSON.parse(readFileSync(new URL('./fixtures/catalogue-exceptions.json', import.meta.url), 'utf8')) as {
  not_offered: Record<string, string>;
  additions: Record<string, string>;
};
const catalogue = loadCatalogue();

/** Problems of a catalogue's slugs against the index; empty when they agree. */
function slugProblems(slugs: Set<string>, ref: ReferenceToolkit[], ex: typeof exceptions): string[] {
  const refSlugs = new Set(ref.map((r) => r.slug));
  return [
    ...ref.filter((r) => !slugs.has(r.slug) && !ex.not_offered[r.slug]?.trim()).map((r) => `${r.slug}: in Composio's index but not in the catalogue`),
    ...[...slugs].filter((s) => !refSlugs.has(s) && !ex.additions[s]?.trim()).map((s) => `${s}: not a slug of Composio's index (misspelt?) and not a listed addition`),
    ...Object.keys(ex.not_offered).filter((s) => slugs.has(s)).map((s) => `${s}: marked not offered, yet in the catalogue`),
  ];
}

describe("the catalogue against Composio's index", () => {
  it('the index is the one expected: 530 toolkits with unique slugs', () => {
    expect(reference.length).toBe(530);
    expect(new Set(reference.map((r) => r.slug)).size).toBe(530);
    expect(reference.map((r) => r.slug)).toEqual(expect.arrayContaining(['_21risk', 'github', 'googlecalendar', 'hubspot']));
  });

  it('has every slug of the index, and no slug that is neither in it nor a listed addition', () => {
    expect(slugProblems(new Set(catalogue.keys()), reference, exceptions)).toEqual([]);
    expect(catalogue.size).toBeGreaterThanOrEqual(reference.length - Object.keys(exceptions.not_offered).length);
  });

  it('fails on a missing slug, a misspelt one, and one marked not offered without a reason', () => {
    const slugs = new Set(catalogue.keys());
    const missing = new Set([...slugs].filter((s) => s !== 'hubspot'));
    expect(slugProblems(missing, reference, exceptions)).toEqual(["hubspot: in Composio's index but not in the catalogue"]);
    const misspelt = new Set([...missing, 'hub_spot']);
    expect(slugProblems(misspelt, reference, exceptions)).toContain("hub_spot: not a slug of Composio's index (misspelt?) and not a listed addition");
    expect(slugProblems(missing, reference, { ...exceptions, not_offered: { hubspot: 'withdrawn by the provider' } })).toEqual([]);
    expect(slugProblems(missing, reference, { ...exceptions, not_offered: { hubspot: ' ' } })).toHaveLength(1);
  });
});

describe('stubs', () => {
  it('are valid unverified entries holding only what the index states', () => {
    for (const r of reference) {
      const stub = stubOf(r);
      const parsed = CatalogueEntrySchema.safeParse(stub);
      expect(parsed.success, `${r.slug}: ${parsed.error?.message}`).toBe(true);
      const e = parsed.data!;
      expect(e.verification.status).toBe('unverified');
      expect([e.docs_url, e.base_url, e.app_url, e.logo]).toEqual([undefined, undefined, undefined, undefined]);
      expect(e.auth_schemes.map((s) => s.mode)).toEqual([...new Set(r.auth_schemes)]);
      for (const s of e.auth_schemes) {
        expect(s.availability).toBe(UNSUPPORTED[s.mode] ? 'unsupported' : 'unverified');
        expect(s.oauth2).toBeUndefined();
        expect(s.request_auth).toEqual([]);
      }
      expect(e.categories).toEqual(r.categories.map((id) => ({ slug: id, name: categoryName(id) })));
    }
  });

  it('describe a toolkit by its categories, in one line', () => {
    const stub = stubOf({ slug: '_21risk', name: '21risk', auth_schemes: ['API_KEY'], categories: ['risk-management', 'compliance', 'audit-management'] });
    expect(stub.description).toBe('21risk: Risk Management, Compliance and Audit Management.');
    expect(stubOf({ slug: 'x', name: 'X', auth_schemes: ['SAML'], categories: ['crm'] }).auth_schemes[0]).toMatchObject({ availability: 'unsupported', note: expect.any(String) });
  });
});

describe('the compiled catalogue', () => {
  it('a built server loads exactly the entries the directory validates to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-catalogue-'));
    const file = pathToFileURL(join(dir, 'catalogue.compiled.json'));
    writeFileSync(file, compileCatalogue(catalogue));
    const compiled = readCompiledCatalogue(file);
    expect([...compiled.keys()]).toEqual([...catalogue.keys()]);
    for (const [slug, entry] of catalogue) expect(compiled.get(slug), slug).toEqual(entry);
  });
});
