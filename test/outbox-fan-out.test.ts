/**
 * The outbox's fan-out in batches: a backlog nobody subscribed to is marked without deliveries or
 * envelopes, a change writes its events with one snapshot, and events fanned out over several small
 * batches keep each account's order. (Throughput itself is measured by `npm run bench`, not here.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const pending = async () => Number((await ctx.pool.query<{ n: string }>('SELECT count(*) AS n FROM webhook_events WHERE dispatched_at IS NULL')).rows[0]!.n);

describe('outbox fan-out', () => {
  it('marks a backlog nobody subscribed to in one run, larger than a batch, with no deliveries or envelopes', async () => {
    const cfg = await linearConfig(ctx);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await apiKeyAccount(ctx, cfg));
    // 2 events per flip and account, written by the trigger: well over one batch of 1,000.
    for (let round = 0; round < 200; round++) {
      await ctx.pool.query(`UPDATE connected_accounts SET status = 'INACTIVE' WHERE id = ANY($1)`, [ids]);
      await ctx.pool.query(`UPDATE connected_accounts SET status = 'ACTIVE' WHERE id = ANY($1)`, [ids]);
    }
    expect(await pending()).toBeGreaterThan(1_200);
    expect(await ctx.app.services.webhookDelivery.runOnce()).toEqual({ fannedOut: 0, delivered: 0 });
    expect(await pending()).toBe(0);
    const { rows } = await ctx.pool.query<{ bodies: string; deliveries: string }>(
      `SELECT count(body) AS bodies, (SELECT count(*) FROM webhook_deliveries WHERE account_id = ANY($1)) AS deliveries
         FROM webhook_events WHERE account_id = ANY($1)`,
      [ids],
    );
    expect(rows[0]).toEqual({ bodies: '0', deliveries: '0' });
  });

  it("a create's two events share one snapshot of the row, in kind order", async () => {
    const id = await apiKeyAccount(ctx, await linearConfig(ctx));
    const { rows } = await ctx.pool.query<{ type: string; snapshot: { id: string; status: string; state: string } }>(
      'SELECT type, snapshot FROM webhook_events WHERE account_id = $1 ORDER BY seq',
      [id],
    );
    expect(rows.map((r) => r.type)).toEqual(['composio.connected_account.created', 'composio.connected_account.activated']);
    expect(rows[0]!.snapshot).toEqual(rows[1]!.snapshot);
    expect(rows[0]!.snapshot).toMatchObject({ id, status: 'ACTIVE' });
  });

  it('deliveries made over many small batches keep each account in event order', async () => {
    const cfg = await linearConfig(ctx);
    await ctx.app.services.webhookDelivery.runOnce(); // earlier tests' events out of the way
    const sub = await ctx.db.webhookSubscription.create({
      data: {
        id: `wh_batches${Date.now()}`,
        projectId: ctx.projectId,
        url: 'http://127.0.0.1:9/never-called',
        enabledEvents: ['composio.connected_account.disabled', 'composio.connected_account.enabled'],
        secret: 'unused', // only fan-out runs here: nothing is sent
      },
    });
    const a = await apiKeyAccount(ctx, cfg);
    const b = await apiKeyAccount(ctx, cfg);
    for (let round = 0; round < 3; round++) {
      for (const id of [a, b]) {
        await ctx.pool.query(`UPDATE connected_accounts SET status = 'INACTIVE' WHERE id = $1`, [id]);
        await ctx.pool.query(`UPDATE connected_accounts SET status = 'ACTIVE' WHERE id = $1`, [id]);
      }
    }
    while (await pending()) await ctx.app.services.webhookDelivery.fanOut(3);
    const { rows } = await ctx.pool.query<{ account_id: string; event_seq: string; seq: string; type: string }>(
      `SELECT d.account_id, d.event_seq, e.seq, e.type FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
        WHERE d.subscription_id = $1 ORDER BY d.event_seq`,
      [sub.id],
    );
    expect(rows).toHaveLength(12);
    for (const r of rows) expect(r.event_seq).toBe(r.seq);
    for (const id of [a, b]) {
      expect(rows.filter((r) => r.account_id === id).map((r) => r.type.replace('composio.connected_account.', ''))).toEqual([
        'disabled',
        'enabled',
        'disabled',
        'enabled',
        'disabled',
        'enabled',
      ]);
    }
  });
});
