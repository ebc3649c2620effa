/** Data built through the real API, for tests that need an account to act on. */
import type { TestContext } from './context.js';

/** A custom API_KEY auth config for Linear; returns its id. */
export async function linearConfig(ctx: TestContext, apiKey = ctx.apiKey): Promise<string> {
  const res = await ctx.http
    .post('/api/v3.1/auth_configs')
    .set('x-api-key', apiKey)
    .send({ toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } })
    .expect(201);
  return res.body.auth_config.id as string;
}

/** An ACTIVE API-key account on that config; returns its id. */
export async function apiKeyAccount(ctx: TestContext, authConfigId: string, o: { userId?: string; key?: string; apiKey?: string } = {}): Promise<string> {
  const res = await ctx.http
    .post('/api/v3.1/connected_accounts')
    .set('x-api-key', o.apiKey ?? ctx.apiKey)
    .send({
      auth_config: { id: authConfigId },
      connection: { ...(o.userId ? { user_id: o.userId } : {}), state: { authScheme: 'API_KEY', val: { api_key: o.key ?? 'lin_api_test' } } },
    })
    .expect(201);
  return res.body.id as string;
}
