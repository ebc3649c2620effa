import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ config: { LOG_LEVEL: 'trace' } });
});
afterAll(() => ctx.close());

describe('logs', () => {
  it('never contain an API key, a token or a password sent in a request', async () => {
    const token = 'tok_SECRETtoken_4f1e2d';
    const password = 'pw_SECRETpassword_93ab';
    const clientSecret = 'cs_SECRETclient_77aa';
    // On success, on validation failure, on auth failure, in headers, query and body.
    await ctx.http.get(`/api/v3.1/toolkits?search=${token}&api_key=${password}`).set('x-api-key', ctx.apiKey).expect(200);
    await ctx.http
      .post('/api/v3.1/custom_toolkits')
      .set('x-api-key', ctx.apiKey)
      .set('authorization', `Bearer ${token}`)
      .send({ slug: 'x', password, access_token: token, client_secret: clientSecret })
      .expect(400);
    await ctx.http.get('/api/v3.1/toolkits/github').set('x-api-key', `ak_${password.replace(/_/g, '')}0000000000`).expect(401);
    // The OAuth callback is public; an unknown state is a 400 page. Neither code nor state is logged.
    await ctx.http.get(`/api/v3/toolkits/auth/callback?code=${token}&state=${password}`).expect(400);

    const logs = ctx.logs();
    expect(logs.length).toBeGreaterThan(0);
    expect(logs).toContain('request completed');
    for (const secret of [ctx.apiKey, token, password, clientSecret, password.replace(/_/g, '')]) {
      expect(logs).not.toContain(secret);
    }
    // Harmless query values stay useful.
    await ctx.http.get('/api/v3.1/toolkits?limit=3').set('x-api-key', ctx.apiKey).expect(200);
    expect(ctx.logs()).toContain('limit=3');
  });
});
