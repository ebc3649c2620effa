import { randomBytes } from 'node:crypto';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { createCrypto } from '../src/lib/crypto.js';
import { rotateEncryptionKeys } from '../src/jobs/rotate-encryption-keys.js';
import { accountStore } from '../src/modules/connected-accounts/account-store.js';
import { TEST_CONFIG, TEST_SECRETS, type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

describe('latchkey keys rotate', () => {
  it('re-seals every credential under the new active key; the old key can then leave the keyring', async () => {
    const api = (path: string) => ctx.http.post(path).set('x-api-key', ctx.apiKey);
    const cfg = await api('/api/v3.1/auth_configs')
      .send({ toolkit: { slug: 'github' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_id: 'cid', client_secret: 'shh-client-secret' } } })
      .expect(201);
    const linear = await linearConfig(ctx);
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      ids.push(await apiKeyAccount(ctx, linear, { userId: `u${i}`, key: `lin_api_${i}` }));
    }

    const k2 = randomBytes(32);
    const rotating = createCrypto({ ...TEST_SECRETS, encryptionKeys: new Map([['k2', k2], ...TEST_SECRETS.encryptionKeys]), activeKeyId: 'k2' });
    // As the CLI runs it: connected accounts are re-sealed by their own store.
    const writers = { connectedAccountState: accountStore({ db: ctx.db, pool: ctx.pool, crypto: rotating, audit: ctx.app.services.audit }).reseal };
    const before = await ctx.db.connectedAccount.findMany({ select: { id: true, updatedAt: true }, orderBy: { id: 'asc' } });
    const result = await rotateEncryptionKeys(ctx.pool, rotating, { batchSize: 7, writers });
    expect(result['connected_accounts.state']!.rotated).toBe(25);
    expect(result['auth_configs.credentials']!.rotated).toBe(1); // the linear config has no credentials to seal

    const states = await ctx.db.connectedAccount.findMany({ select: { state: true } });
    expect(states.every((s) => s.state.startsWith('lk1.k2.'))).toBe(true);
    // A rotation is not a change of the account: updated_at (an ordering key) stays.
    expect(await ctx.db.connectedAccount.findMany({ select: { id: true, updatedAt: true }, orderBy: { id: 'asc' } })).toEqual(before);
    // Compare-and-set: a stale sealed value writes nothing.
    expect(await writers.connectedAccountState({ id: ids[0]!, projectId: ctx.projectId }, 'lk1.k1.stale', 'lk1.k2.other')).toBe(false);
    // Running it again finds nothing to do.
    expect((await rotateEncryptionKeys(ctx.pool, rotating, { writers }))['connected_accounts.state']!.rotated).toBe(0);

    // A server that holds only the new key reads everything.
    const onlyNew = createCrypto({ ...TEST_SECRETS, encryptionKeys: new Map([['k2', k2]]), activeKeyId: 'k2' });
    const app = await buildApp({ config: TEST_CONFIG, db: ctx.db, pool: ctx.pool, crypto: onlyNew, logStream: process.stderr });
    await app.ready();
    try {
      const http = supertest(app.server);
      const acc = await http.get(`/api/v3.1/connected_accounts/${ids[7]}`).set('x-api-key', ctx.apiKey).expect(200);
      expect(acc.body.state.val.api_key).toBe('lin_api_7');
      const c = await http.get(`/api/v3.1/auth_configs/${cfg.body.auth_config.id}`).set('x-api-key', ctx.apiKey).expect(200);
      expect(c.body.credentials.client_id).toBe('cid');
    } finally {
      await app.close();
    }
  });
});
