/** The background job engine really runs the OAuth maintenance job (pg-boss on the test database). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OAUTH_MAINTENANCE, startJobs, type Jobs } from '../src/jobs/queue.js';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

let ctx: TestContext;
let jobs: Jobs | undefined;
beforeAll(async () => {
  ctx = await createTestContext({ config: { oauthAttemptTtlMs: 1 } });
});
afterAll(async () => {
  await jobs?.stop();
  await ctx.close();
});

describe('jobs', () => {
  it('a worker picks up oauth-maintenance and fails abandoned redirects', async () => {
    const accountId = await apiKeyAccount(ctx, await linearConfig(ctx));
    // An abandoned redirect, as the OAuth flow would leave it.
    await ctx.db.connectedAccount.update({ where: { id: accountId }, data: { status: 'INITIATED', updatedAt: new Date(Date.now() - 60_000) } });

    const seen: object[] = [];
    jobs = await startJobs({
      databaseUrl: ctx.databaseUrl,
      oauth: ctx.app.services.oauth,
      refreshAheadMs: 600_000,
      log: { info: (o) => seen.push(o), warn: () => {} },
      maintenanceEverySeconds: 0, // not on a timer during the test: the job is sent by hand below
    });
    await jobs.boss.send(OAUTH_MAINTENANCE, {});
    await expect
      .poll(async () => (await ctx.db.connectedAccount.findUnique({ where: { id: accountId } }))!.status, { timeout: 15_000, interval: 200 })
      .toBe('FAILED');
    const row = await ctx.db.connectedAccount.findUnique({ where: { id: accountId } });
    expect(row!.statusReason).toBe('Connection initiation did not complete within 1 millisecond');
    // The run logs its outcome after its writes: wait for it rather than race it.
    await expect.poll(() => seen, { timeout: 15_000, interval: 100 }).toContainEqual(expect.objectContaining({ expired: 1 }));
  });
});
