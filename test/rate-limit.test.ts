import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ config: { RATE_LIMIT_MAX: 4, RATE_LIMIT_WINDOW_MS: 60_000 } });
});
afterAll(() => ctx.close());

describe('rate limit per API key', () => {
  it('sends x-ratelimit headers and answers 429 in the envelope past the limit', async () => {
    const path = '/api/v3.1/toolkits/github';
    const first = await ctx.http.get(path).set('x-api-key', ctx.apiKey);
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('4');
    expect(first.headers['x-ratelimit-remaining']).toBe('3');
    for (let i = 0; i < 3; i++) await ctx.http.get(path).set('x-api-key', ctx.apiKey).expect(200);
    const limited = await ctx.http.get(path).set('x-api-key', ctx.apiKey);
    expect(limited.status).toBe(429);
    expect(limited.body.error).toMatchObject({ status: 429, slug: 'RateLimit_Exceeded' });
    expect(limited.headers['retry-after']).toBeDefined();

    // The limit is the key's, not the address's: another project's key still gets through.
    const other = await ctx.newProject();
    await ctx.http.get(path).set('x-api-key', other.apiKey).expect(200);
  });
});
