import { createHmac, createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCrypto } from '../src/lib/crypto.js';
import { projectsRepository } from '../src/modules/projects/projects.repository.js';
import { projectsService } from '../src/modules/projects/projects.service.js';
import { type TestContext, TEST_SECRETS, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext({ config: { API_KEY_CACHE_MS: 0 } });
});
afterAll(() => ctx.close());

const path = '/api/v3.1/toolkits/github';

function expect401(res: { status: number; body: { error: { status: number; slug: string; request_id: string } } }, slug: string) {
  expect(res.status).toBe(401);
  expect(res.body.error.status).toBe(401);
  expect(res.body.error.slug).toBe(slug);
  expect(res.body.error.request_id).toMatch(/\S/);
}

describe('project API keys', () => {
  it('accepts a valid key', async () => {
    const res = await ctx.http.get(path).set('x-api-key', ctx.apiKey);
    expect(res.status).toBe(200);
    expect(res.body.slug).toBe('github');
  });

  it('answers 401 in the envelope without a key', async () => {
    expect401(await ctx.http.get(path), 'Auth_MissingApiKey');
  });

  it('answers 401 for an unknown or malformed key', async () => {
    expect401(await ctx.http.get(path).set('x-api-key', `ak_${'x'.repeat(40)}`), 'Auth_InvalidApiKey');
    expect401(await ctx.http.get(path).set('x-api-key', "ak_'; DROP TABLE api_keys;--"), 'Auth_InvalidApiKey');
    expect401(await ctx.http.get(path).set('x-api-key', ''), 'Auth_InvalidApiKey');
  });

  it('answers 401 for a user key in x-api-key and for two credential headers', async () => {
    expect401(await ctx.http.get(path).set('x-api-key', 'uak_abcdefghijklmnopqrstuvwxyz'), 'Auth_InvalidApiKey');
    const both = await ctx.http.get(path).set('x-api-key', ctx.apiKey).set('x-user-api-key', 'uak_abc');
    expect401(both, 'Auth_MultipleAuthModes');
    expect(both.body.error.message).toMatch(/Multiple authentication modes/);
  });

  it('stores only an HMAC with the server secret, never the key or a plain hash', async () => {
    const rows = await ctx.db.apiKey.findMany({ where: { projectId: ctx.projectId } });
    expect(rows).toHaveLength(1);
    const stored = Buffer.from(rows[0]!.hash);
    expect(stored.equals(createHmac('sha256', TEST_SECRETS.hmacSecret).update(ctx.apiKey).digest())).toBe(true);
    expect(stored.equals(createHash('sha256').update(ctx.apiKey).digest())).toBe(false);
    const dump = JSON.stringify(await ctx.db.$queryRawUnsafe('SELECT * FROM api_keys'), (_k, v) => (typeof v === 'bigint' ? String(v) : v));
    expect(dump).not.toContain(ctx.apiKey.slice(3));
    expect(rows[0]!.prefix).toBe(ctx.apiKey.slice(0, 7));
  });

  it('records last_used_at', async () => {
    const { projectId, apiKey } = await ctx.newProject();
    const before = await ctx.db.apiKey.findFirst({ where: { projectId } });
    expect(before!.lastUsedAt).toBeNull();
    await ctx.http.get(path).set('x-api-key', apiKey).expect(200);
    await expect.poll(async () => (await ctx.db.apiKey.findFirst({ where: { projectId } }))!.lastUsedAt).not.toBeNull();
  });

  it('refuses a revoked key, and other keys of the project keep working', async () => {
    const { projectId, apiKey } = await ctx.newProject();
    const second = await ctx.app.services.projects.createKey(projectId, 'second');
    await ctx.http.get(path).set('x-api-key', second.apiKey).expect(200);
    await ctx.app.services.projects.revokeKey(projectId, second.id);
    expect401(await ctx.http.get(path).set('x-api-key', second.apiKey), 'Auth_InvalidApiKey');
    await ctx.http.get(path).set('x-api-key', apiKey).expect(200);
  });

  it('cannot revoke another project\'s key', async () => {
    const a = await ctx.newProject();
    const b = await ctx.newProject();
    const keyOfB = (await ctx.db.apiKey.findFirst({ where: { projectId: b.projectId } }))!;
    await expect(ctx.app.services.projects.revokeKey(a.projectId, keyOfB.id)).rejects.toThrow(/not found/);
    await ctx.http.get(path).set('x-api-key', b.apiKey).expect(200);
  });

  it('needs no key for health and docs', async () => {
    await ctx.http.get('/healthz').expect(200);
    await ctx.http.get('/readyz').expect(200);
    await ctx.http.get('/openapi.json').expect(200);
  });
});

describe('the verified-key cache', () => {
  // The real service on the real repository, counting the repository's key lookups.
  function counted(cacheMs: number) {
    const repo = projectsRepository(ctx.db);
    const calls = { lookups: 0 };
    const service = projectsService({
      repo: { ...repo, findKeyByHash: (hash: Buffer) => (calls.lookups++, repo.findKeyByHash(hash)) },
      crypto: createCrypto(TEST_SECRETS),
      cacheMs,
      audit: ctx.app.services.audit,
    });
    return { service, calls };
  }

  it('answers a cached key without a database lookup, and forgets it when the key is revoked', async () => {
    const { service, calls } = counted(60_000);
    const { projectId } = await ctx.newProject();
    const key = await service.createKey(projectId, 'cached');
    calls.lookups = 0;
    const first = await service.authenticate(key.apiKey);
    expect(calls.lookups).toBe(1);
    expect(await service.authenticate(key.apiKey)).toEqual(first);
    expect(calls.lookups).toBe(1);
    await service.revokeKey(projectId, key.id);
    await expect(service.authenticate(key.apiKey)).rejects.toThrow(/Invalid API key/);
    expect(calls.lookups).toBe(2);
  });

  it('caches no key that fails, and nothing when the cache is off', async () => {
    const { service, calls } = counted(60_000);
    const unknown = `ak_${'x'.repeat(40)}`;
    await expect(service.authenticate(unknown)).rejects.toThrow(/Invalid API key/);
    await expect(service.authenticate(unknown)).rejects.toThrow(/Invalid API key/);
    expect(calls.lookups).toBe(2);
    const off = counted(0);
    await off.service.authenticate(ctx.apiKey);
    await off.service.authenticate(ctx.apiKey);
    expect(off.calls.lookups).toBe(2);
  });
});
