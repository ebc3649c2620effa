/**
 * The upgrade that indexes the outbox by account: a database made by the previous release holds
 * events and deliveries; after the new migration they read back unchanged through the console's
 * history queries, and those queries find an account's rows through the new indexes instead of
 * reading every retained event (a parallel sequential scan: 0.5 s at 2,000,000 events).
 */
import { describe, expect, it } from 'vitest';
import { webhookHistoryRepository } from '../src/modules/webhooks/webhook-history.repository.js';
import { databaseOfRelease } from './support/migrations.js';

const PREVIOUS_RELEASE = '20261202150000_audit_object_ids';
const NEW_MIGRATION = '20261202180000_outbox_history_by_account';

describe('upgrading the outbox with indexes by account', () => {
  it("keeps the previous release's events and deliveries and finds an account's through the new indexes", async () => {
    const { clients, q, upgrade } = await databaseOfRelease(PREVIOUS_RELEASE);
    await q(`INSERT INTO projects (id, name, updated_at) VALUES ('proj_old', 'old', now())`);
    await q(`INSERT INTO webhook_subscriptions (id, project_id, url, enabled_events, secret, updated_at)
             VALUES ('ws_old', 'proj_old', 'https://hooks.example.test/in', '{}', 'sealed-secret', now())`);
    // 3,000 accounts with two events each, as the previous release's trigger wrote them, every event delivered once.
    await q(`INSERT INTO webhook_events (id, project_id, account_id, type, snapshot, created_at, dispatched_at)
             SELECT 'msg_old_' || g, 'proj_old', 'ca_old_' || (g % 3000),
                    CASE WHEN g <= 3000 THEN 'composio.connected_account.created' ELSE 'composio.connected_account.disabled' END,
                    jsonb_build_object('status', CASE WHEN g <= 3000 THEN 'ACTIVE' ELSE 'INACTIVE' END),
                    timestamptz '2026-12-01 10:00:00+00' + g * interval '1 second', now()
               FROM generate_series(1, 6000) g`);
    await q(`INSERT INTO webhook_deliveries (id, project_id, subscription_id, event_id, event_seq, account_id, status, attempts, created_at, updated_at)
             SELECT 'wd_old_' || e.seq, e.project_id, 'ws_old', e.id, e.seq, e.account_id, 'DELIVERED', 1, e.created_at, now()
               FROM webhook_events e`);

    // Upgraded to this checkout's migrations: the one under test first, then any later ones.
    expect((await upgrade())[0]).toBe(NEW_MIGRATION);
    await q('ANALYZE webhook_events');
    await q('ANALYZE webhook_deliveries');

    const history = webhookHistoryRepository(clients.db);
    const events = await history.accountEvents('proj_old', 'ca_old_7', 10);
    expect(events.map((e) => [e.id, e.type, e.status])).toEqual([
      ['msg_old_3007', 'composio.connected_account.disabled', 'INACTIVE'],
      ['msg_old_7', 'composio.connected_account.created', 'ACTIVE'],
    ]);
    // Older than a seq: the console's next page.
    expect((await history.accountEvents('proj_old', 'ca_old_7', 10, events[0]!.seq)).map((e) => e.id)).toEqual(['msg_old_7']);
    // Another project's rows stay out, whatever the account id.
    expect(await history.accountEvents('proj_other', 'ca_old_7', 10)).toEqual([]);
    const deliveries = await history.deliveries('proj_old', { accountId: 'ca_old_7' }, 10);
    expect(deliveries.map((d) => [d.eventId, d.status, d.event.type])).toEqual([
      ['msg_old_3007', 'DELIVERED', 'composio.connected_account.disabled'],
      ['msg_old_7', 'DELIVERED', 'composio.connected_account.created'],
    ]);
    expect(Number((await q('SELECT count(*) AS n FROM webhook_events')).rows[0].n)).toBe(6000);

    // The history queries' shapes, planned on the upgraded tables: each walks its account's index.
    const plan = async (sql: string, values: unknown[]) => JSON.stringify((await q(`EXPLAIN (FORMAT JSON) ${sql}`, values)).rows[0]['QUERY PLAN']);
    expect(
      await plan(`SELECT id, seq, type FROM webhook_events WHERE project_id = $1 AND account_id = $2 ORDER BY seq DESC LIMIT 21`, ['proj_old', 'ca_old_7']),
    ).toContain('"Index Name":"webhook_events_account_id_seq_idx"');
    expect(
      await plan(`SELECT id FROM webhook_deliveries WHERE project_id = $1 AND account_id = $2 ORDER BY created_at DESC, id DESC LIMIT 21`, ['proj_old', 'ca_old_7']),
    ).toContain('"Index Name":"webhook_deliveries_account_id_created_at_idx"');
  });
});
