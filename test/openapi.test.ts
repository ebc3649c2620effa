import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CONFIG, type TestContext, createTestContext } from './support/context.js';

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
    // The server URL's default is the deployment's PUBLIC_URL (the committed file has the development one).
    expect(res.body.servers[0].variables.publicUrl.default).toBe(TEST_CONFIG.publicUrl);
    expect(committed.servers[0].variables.publicUrl.default).toBe('http://localhost:9900');
    // If this fails: npm run openapi:write, and commit openapi/openapi.json.
    expect({ ...res.body, servers: committed.servers }).toEqual(committed);
  });

  it('declares the error envelope for the 4xx answers each operation can give, and only those', async () => {
    const { body: doc } = await ctx.http.get('/openapi.json').expect(200);
    const codes = (path: string, method: string) => Object.keys(doc.paths[path][method].responses).sort();
    // A key, input, a resource in the path, a rate limit: all four.
    expect(codes('/api/v3.1/connected_accounts/{nanoid}', 'patch')).toEqual(['200', '400', '401', '404', '429']);
    // No input and no resource: only the key and the rate limit can fail.
    expect(codes('/api/v3.1/webhook_subscriptions/event_types', 'get')).toEqual(['200', '401', '429']);
    // Public: no 401.
    expect(codes('/api/v3.1/toolkits/auth/callback', 'get')).toEqual(['200', '400', '429']);
    expect(doc.paths['/api/v3.1/toolkits/{slug}'].get.responses['404']).toEqual({ $ref: '#/components/responses/NotFound' });
    expect(doc.components.responses.NotFound.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ErrorEnvelope' });
    for (const [path, ops] of Object.entries<Record<string, { summary?: string; tags?: string[] }>>(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        expect(op.summary, `${method} ${path}`).toBeTruthy();
        for (const tag of op.tags ?? []) expect(doc.tags.map((t: { name: string }) => t.name)).toContain(tag);
      }
    }

    // What is declared is what is sent: a real 404 and a real 401 match the envelope schema's shape.
    const notFound = await ctx.http.get('/api/v3.1/toolkits/no-such-toolkit').set('x-api-key', ctx.apiKey).expect(404);
    const unauthorized = await ctx.http.get('/api/v3.1/toolkits/github').expect(401);
    const envelope = doc.components.schemas.ErrorEnvelope;
    for (const res of [notFound, unauthorized]) {
      expect(Object.keys(res.body)).toEqual(['error']);
      for (const k of envelope.properties.error.required) expect(res.body.error).toHaveProperty(k);
      for (const k of Object.keys(res.body.error)) expect(Object.keys(envelope.properties.error.properties)).toContain(k);
    }
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
