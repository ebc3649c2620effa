/**
 * The outbox's retention: events delivered and past the retention go, with their deliveries and
 * attempts; an event not yet fanned out, or with a delivery still pending, stays however old it is.
 * The prune walks the outbox oldest first in batches, so these tests also run it with batches
 * smaller than the rows they hold.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';

let ctx: TestContext;
beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(() => ctx.close());

const DAY = 86_400_000;
const RETENTION_MS = 7 * DAY;
let n = 0;

/** An event as the trigger and the fan-out leave it, with the times given. */
async function event(o: { ageMs: number; dispatched: boolean }): Promise<string> {
  const id = `msg_prune_${++n}_${Date.now()}`;
  await ctx.pool.query(
    `INSERT INTO webhook_events (id, project_id, account_id, type, snapshot, created_at, dispatched_at)
     VALUES ($1, $2, NULL, 'composio.connected_account.created', '{}', now() - make_interval(secs => $3::float8 / 1000),
             CASE WHEN $4 THEN now() - make_interval(secs => $3::float8 / 1000) END)`,
    [id, ctx.projectId, o.ageMs, o.dispatched],
  );
  return id;
}

async function subscription(): Promise<string> {
  const sub = await ctx.db.webhookSubscription.create({
    data: { id: `wh_prune_${++n}`, projectId: ctx.projectId, url: 'http://127.0.0.1:9/never-called', enabledEvents: ['composio.connected_account.created'], secret: 'unused' },
  });
  return sub.id;
}

/** A delivery of the event, with one attempt logged. */
async function delivery(subscriptionId: string, eventId: string, status: 'PENDING' | 'SUCCEEDED' | 'FAILED'): Promise<string> {
  const id = `whd_prune_${++n}`;
  await ctx.pool.query(
    `INSERT INTO webhook_deliveries (id, project_id, subscription_id, event_id, event_seq, status, attempts, updated_at)
     SELECT $1, $2, $3, id, seq, $5, 1, now() FROM webhook_events WHERE id = $4`,
    [id, ctx.projectId, subscriptionId, eventId, status],
  );
  await ctx.pool.query(
    `INSERT INTO webhook_attempts (id, delivery_id, attempt, started_at, duration_ms, status_code) VALUES ($1, $2, 1, now(), 5, 500)`,
    [`wha_prune_${++n}`, id],
  );
  return id;
}

const remaining = async (table: string, ids: string[]) =>
  (await ctx.pool.query<{ id: string }>(`SELECT id FROM ${table} WHERE id = ANY($1) ORDER BY id`, [ids])).rows.map((r) => r.id).sort();

const prune = (batch?: number) => ctx.app.services.webhookDelivery.prune(RETENTION_MS, batch);

describe('outbox retention', () => {
  it('drops delivered events past the retention with their deliveries and attempts, and keeps everything else', async () => {
    const sub = await subscription();
    const oldDone = await event({ ageMs: 8 * DAY, dispatched: true });
    const oldDelivered = await event({ ageMs: 8 * DAY, dispatched: true });
    const oldFailed = await event({ ageMs: 8 * DAY, dispatched: true });
    const oldStillPending = await event({ ageMs: 8 * DAY, dispatched: true });
    const oldNotFannedOut = await event({ ageMs: 9 * DAY, dispatched: false });
    const recent = await event({ ageMs: 6 * DAY, dispatched: true });
    const succeeded = await delivery(sub, oldDelivered, 'SUCCEEDED');
    const failed = await delivery(sub, oldFailed, 'FAILED');
    const pending = await delivery(sub, oldStillPending, 'PENDING');
    const recentDelivery = await delivery(sub, recent, 'SUCCEEDED');

    expect(await prune()).toBe(3);
    const events = [oldDone, oldDelivered, oldFailed, oldStillPending, oldNotFannedOut, recent];
    expect(await remaining('webhook_events', events)).toEqual([oldStillPending, oldNotFannedOut, recent].sort());
    expect(await remaining('webhook_deliveries', [succeeded, failed, pending, recentDelivery])).toEqual([pending, recentDelivery].sort());
    const { rows } = await ctx.pool.query<{ delivery_id: string }>('SELECT delivery_id FROM webhook_attempts WHERE delivery_id = ANY($1) ORDER BY delivery_id', [
      [succeeded, failed, pending, recentDelivery],
    ]);
    expect(rows.map((r) => r.delivery_id).sort()).toEqual([pending, recentDelivery].sort());
    // Nothing more to do: a second run deletes nothing.
    expect(await prune()).toBe(0);
  });

  it('works through more rows than a batch, past old events it must keep', async () => {
    await ctx.pool.query('DELETE FROM webhook_events');
    const sub = await subscription();
    // Kept rows first in the outbox's order, so every batch starts with rows it may not delete.
    const kept = [await event({ ageMs: 30 * DAY, dispatched: false }), await event({ ageMs: 29 * DAY, dispatched: false })];
    const blocked = await event({ ageMs: 28 * DAY, dispatched: true });
    await delivery(sub, blocked, 'PENDING');
    kept.push(blocked);
    const old: string[] = [];
    for (let i = 0; i < 23; i++) old.push(await event({ ageMs: (20 - i / 10) * DAY, dispatched: true }));
    for (let i = 0; i < 4; i++) kept.push(await event({ ageMs: (3 - i / 10) * DAY, dispatched: true }));

    expect(await prune(5)).toBe(23);
    expect(await remaining('webhook_events', [...kept, ...old])).toEqual([...kept].sort());
  });

  it('goes on through batches that hold some events past the retention, and stops at the first that holds none', async () => {
    await ctx.pool.query('DELETE FROM webhook_events');
    // In batches of 5: [old old old recent recent] [old old old recent recent] [recent ×5] [late].
    const old: string[] = [];
    const recent: string[] = [];
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3; i++) old.push(await event({ ageMs: 10 * DAY, dispatched: true }));
      for (let i = 0; i < 2; i++) recent.push(await event({ ageMs: DAY, dispatched: true }));
    }
    for (let i = 0; i < 5; i++) recent.push(await event({ ageMs: DAY, dispatched: true }));
    // Past the retention but later in the outbox's order than a whole batch of recent events: the
    // walk does not reach it (events are written in time order, so this takes a clock gone backwards).
    const late = await event({ ageMs: 10 * DAY, dispatched: true });

    expect(await prune(5)).toBe(6);
    expect(await remaining('webhook_events', [...old, ...recent, late])).toEqual([...recent, late].sort());
  });
});
