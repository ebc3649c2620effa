import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { expectEnvelope } from './support/expect.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({
    beforeReady: (app) => {
      // A route that fails the way a bug would: the client must learn nothing of it.
      app.get('/boom', async () => {
        throw new Error('connect ECONNREFUSED 10.0.0.7:5432 password=hunter2');
      });
    },
  });
});
afterAll(() => ctx.close());


describe('error envelope', () => {
  it('404 for an unknown route', async () => {
    const res = await ctx.http.get('/api/v3.1/nope').set('x-api-key', ctx.apiKey);
    expectEnvelope(res, 404, 'Route_NotFound');
    expectEnvelope(await ctx.http.get('/nothing-here'), 404, 'Route_NotFound');
  });

  it('400 for malformed JSON', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .set('content-type', 'application/json')
      .send('{"slug": ');
    expectEnvelope(res, 400, 'Request_MalformedJson');
  });

  it('400 with the field problems listed for wrong types', async () => {
    const res = await ctx.http.post('/api/v3.1/custom_toolkits').set('x-api-key', ctx.apiKey).send({ slug: 12, name: [] });
    expectEnvelope(res, 400, 'Request_ValidationError');
    expect(res.body.error.errors!.join('\n')).toMatch(/slug/);
  });

  it('415 for a content type that is not JSON', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .set('content-type', 'text/plain')
      .send('hello');
    expectEnvelope(res, 415, 'Request_UnsupportedMediaType');
  });

  it('413 for a body over the limit', async () => {
    const res = await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .send({ slug: 'big', description: 'x'.repeat(100 * 1024) });
    expectEnvelope(res, 413, 'Request_BodyTooLarge');
  });

  it('500 with no internals for an unexpected failure', async () => {
    const res = await ctx.http.get('/boom');
    expectEnvelope(res, 500, 'Internal_ServerError');
    expect(JSON.stringify(res.body)).not.toMatch(/ECONNREFUSED|hunter2|10\.0\.0\.7|stack/);
    expect(ctx.logs()).not.toContain('hunter2'.repeat(2));
  });

  it('sends x-request-id on every response, keeping a well-formed one from the caller', async () => {
    const ok = await ctx.http.get('/healthz');
    expect(ok.headers['x-request-id']).toMatch(/^req_/);
    const given = await ctx.http.get('/healthz').set('x-request-id', 'trace-123');
    expect(given.headers['x-request-id']).toBe('trace-123');
    const bad = await ctx.http.get('/healthz').set('x-request-id', '<script>'.repeat(30));
    expect(bad.headers['x-request-id']).toMatch(/^req_/);
  });
});
