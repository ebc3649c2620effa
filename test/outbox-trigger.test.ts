/** The outbox trigger: which event each change of a connected account writes, in its transaction. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const types = async (accountId: string) =>
  (await ctx.db.webhookEvent.findMany({ where: { accountId }, orderBy: { seq: 'asc' } })).map((e) => e.type.replace('composio.connected_account.', ''));

describe('outbox trigger', () => {
  it('writes one event per change, tells re-authorisation from first activation even after pruning, and nothing for a rolled-back change', async () => {
    const id = await apiKeyAccount(ctx, await linearConfig(ctx));
    await ctx.http.patch(`/api/v3.1/connected_accounts/${id}/status`).set('x-api-key', ctx.apiKey).send({ enabled: false }).expect(200);
    await ctx.http.patch(`/api/v3.1/connected_accounts/${id}/status`).set('x-api-key', ctx.apiKey).send({ enabled: true }).expect(200);
    expect(await types(id)).toEqual(['created', 'activated', 'disabled', 'enabled']);

    // Old events go; a later consent is still a re-authorisation, not a first activation.
    await ctx.db.webhookEvent.deleteMany({ where: { accountId: id } });
    await ctx.db.connectedAccount.update({ where: { id }, data: { status: 'INITIATED' } });
    await ctx.db.connectedAccount.update({ where: { id }, data: { status: 'ACTIVE' } });
    await ctx.db.connectedAccount.update({ where: { id }, data: { refreshFailures: 3 } });
    await ctx.db.connectedAccount.update({ where: { id }, data: { status: 'EXPIRED' } });
    expect(await types(id)).toEqual(['reauthorized', 'refresh_failed', 'expired']);

    // A change that rolls back leaves no event.
    await expect(
      ctx.db.$transaction(async (tx) => {
        await tx.connectedAccount.update({ where: { id }, data: { status: 'REVOKED' } });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await types(id)).toEqual(['reauthorized', 'refresh_failed', 'expired']);

    await ctx.http.delete(`/api/v3.1/connected_accounts/${id}`).set('x-api-key', ctx.apiKey).expect(200);
    expect((await types(id)).at(-1)).toBe('deleted');
  });
});
