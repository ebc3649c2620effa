/**
 * The upgrade that indexes deliveries by event: a database made by the previous release holds
 * delivered events past the retention, with their deliveries and attempts, and recent ones. After the
 * new migration the retention prune drops the old events with their deliveries and attempts (the
 * cascade now finds an event's deliveries through the index instead of reading all of them), and
 * the recent rows read back unchanged.
 */
import { describe, expect, it } from 'vitest';
import { webhooksRepository } from '../src/modules/webhooks/webhooks.repository.js';
import { databaseOfRelease } from './support/migrations.js';

const PREVIOUS_RELEASE = '20261202180000_outbox_history_by_account';
const NEW_MIGRATION = '20261203070534_deliveries_by_event';

describe('upgrading the outbox with an index of deliveries by event', () => {
  it("prunes the previous release's old events with their deliveries and keeps the recent ones", async () => {
    const { clients, q, upgrade } = await databaseOfRelease(PREVIOUS_RELEASE);
    await q(`INSERT INTO projects (id, name, updated_at) VALUES ('proj_old', 'old', now())`);
    await q(`INSERT INTO webhook_subscriptions (id, project_id, url, enabled_events, secret, updated_at)
             VALUES ('ws_old', 'proj_old', 'https://hooks.example.test/in', '{}', 'sealed-secret', now())`);
    // 1,000 events ten days old and 2,000 from yesterday, each delivered once after one attempt.
    await q(`INSERT INTO webhook_events (id, project_id, account_id, type, snapshot, created_at, dispatched_at)
             SELECT 'msg_old_' || g, 'proj_old', 'ca_old_' || (g % 300), 'composio.connected_account.created', '{}',
                    now() - CASE WHEN g <= 1000 THEN interval '10 days' ELSE interval '1 day' END + g * interval '1 second',
                    now() - CASE WHEN g <= 1000 THEN interval '10 days' ELSE interval '1 day' END + g * interval '1 second'
               FROM generate_series(1, 3000) g`);
    await q(`INSERT INTO webhook_deliveries (id, project_id, subscription_id, event_id, event_seq, account_id, status, attempts, created_at, updated_at)
             SELECT 'wd_old_' || e.seq, e.project_id, 'ws_old', e.id, e.seq, e.account_id, 'SUCCEEDED', 1, e.created_at, now()
               FROM webhook_events e`);
    await q(`INSERT INTO webhook_attempts (id, delivery_id, attempt, started_at, duration_ms, status_code)
             SELECT 'wa_old_' || d.event_seq, d.id, 1, d.created_at, 12, 204 FROM webhook_deliveries d`);
    const before = (await q(`SELECT id, status, attempts FROM webhook_deliveries WHERE event_seq > 1000 ORDER BY event_seq`)).rows;

    // Upgraded to this checkout's migrations: the one under test first, then any later ones.
    expect((await upgrade())[0]).toBe(NEW_MIGRATION);
    await q('ANALYZE webhook_deliveries');

    // The cascade's lookup (PostgreSQL deletes an event's deliveries by event_id) uses the index.
    const plan = JSON.stringify((await q(`EXPLAIN (FORMAT JSON) SELECT id FROM webhook_deliveries WHERE event_id = $1`, ['msg_old_7'])).rows[0]['QUERY PLAN']);
    expect(plan).toContain('"Index Name":"webhook_deliveries_event_id_idx"');

    const repo = webhooksRepository(clients.db, clients.pool);
    expect(await repo.prune(new Date(Date.now() - 7 * 86_400_000))).toBe(1000);
    const count = async (table: string) => Number((await q(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);
    expect([await count('webhook_events'), await count('webhook_deliveries'), await count('webhook_attempts')]).toEqual([2000, 2000, 2000]);
    expect((await q(`SELECT id, status, attempts FROM webhook_deliveries ORDER BY event_seq`)).rows).toEqual(before);
    expect(Number((await q(`SELECT min(event_seq) AS m FROM webhook_deliveries`)).rows[0].m)).toBe(1001);
  });
});
