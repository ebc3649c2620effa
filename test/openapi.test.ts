import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('OpenAPI', () => {
  it('is served at /openapi.json and the committed openapi/openapi.json is up to date', async () => {
    const res = await ctx.http.get('/openapi.json').expect(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toContain('/api/v3.1/toolkits/{slug}');
    const committed = JSON.parse(readFileSync(new URL('../openapi/openapi.json', import.meta.url), 'utf8'));
    // If this fails: npm run openapi:write, and commit openapi/openapi.json.
    expect(res.body).toEqual(committed);
  });

  it('documents every API route with its key requirement and a human page at /docs', async () => {
    const res = await ctx.http.get('/openapi.json').expect(200);
    expect(res.body.components.securitySchemes.ApiKeyAuth).toMatchObject({ in: 'header', name: 'x-api-key' });
    const docs = await ctx.http.get('/docs/').redirects(1);
    expect(docs.status).toBe(200);
    expect(docs.text).toMatch(/swagger/i);
  });
});

describe('route contracts', () => {
  it('every API route, under both prefixes, refuses a request without a key', async () => {
    const routes = ctx.app.apiRoutes;
    expect(routes.some((r) => r.url.startsWith('/api/v3.1/'))).toBe(true);
    expect(routes.filter((r) => r.url.startsWith('/api/v3/')).length).toBe(routes.filter((r) => r.url.startsWith('/api/v3.1/')).length);
    for (const r of routes) {
      const url = r.url.replace(/:[A-Za-z_]+/g, 'x1');
      const res = await ctx.http[r.method.toLowerCase() as 'get'](url);
      expect(res.status, `${r.method} ${url}`).toBe(401);
    }
  });
});
