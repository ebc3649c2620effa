/**
 * The upgrade that gives the refresh sweep a partial index: a database made by the previous release
 * holds live OAuth accounts, accounts no longer ACTIVE or deleted whose expiry has passed, and
 * accounts without a token. After the new migration the sweep finds exactly the live accounts due,
 * oldest expiry first, through the partial index (which holds only them), and the full index on
 * token_expires_at is gone.
 */
import { describe, expect, it } from 'vitest';
import { oauthRepository } from '../src/modules/oauth/oauth.repository.js';
import { databaseOfRelease } from './support/migrations.js';

const PREVIOUS_RELEASE = '20261203070534_deliveries_by_event';
const NEW_MIGRATION = '20261203073500_refresh_sweep_index';

describe('upgrading the refresh sweep to a partial index', () => {
  it('finds the live accounts due, and only them, through the new index', async () => {
    const { clients, q, upgrade } = await databaseOfRelease(PREVIOUS_RELEASE);
    await q(`INSERT INTO projects (id, name, updated_at) VALUES ('proj_old', 'old', now())`);
    await q(`INSERT INTO auth_configs (id, project_id, toolkit_slug, name, auth_scheme, is_composio_managed, updated_at)
             VALUES ('ac_old', 'proj_old', 'github', 'GitHub', 'OAUTH2', false, now())`);
    const account = (id: string, status: string, expiresIn: string | null, deleted = false) =>
      q(
        `INSERT INTO connected_accounts (id, project_id, auth_config_id, toolkit_slug, user_id, auth_scheme, status, state, secret_keys,
                                         word_id, token_expires_at, deleted_at, updated_at)
         VALUES ($1::text, 'proj_old', 'ac_old', 'github', 'u_' || $1::text, 'OAUTH2', $2, 'sealed', '{}', 'w_' || $1::text,
                 now() + $3::interval, CASE WHEN $4::boolean THEN now() END, now())`,
        [id, status, expiresIn, deleted],
      );
    await account('ca_due_later', 'ACTIVE', '5 minutes');
    await account('ca_due_first', 'ACTIVE', '1 minute');
    await account('ca_not_yet', 'ACTIVE', '2 hours');
    await account('ca_no_token', 'ACTIVE', null);
    for (let i = 0; i < 20; i++) await account(`ca_expired_${i}`, 'EXPIRED', `-${i + 1} days`);
    await account('ca_revoked', 'REVOKED', '-3 days');
    await account('ca_deleted', 'ACTIVE', '-1 minute', true);

    expect((await upgrade())[0]).toBe(NEW_MIGRATION);
    await q('ANALYZE connected_accounts');

    const due = await oauthRepository(clients.db).dueForRefresh(new Date(Date.now() + 10 * 60_000), 10);
    expect(due.map((a) => a.id)).toEqual(['ca_due_first', 'ca_due_later']);

    const { rows: indexes } = await q(`SELECT indexname FROM pg_indexes WHERE tablename = 'connected_accounts' AND indexdef LIKE '%token_expires_at%'`);
    expect(indexes.map((r: { indexname: string }) => r.indexname)).toEqual(['connected_accounts_refresh_due_idx']);
    // The index holds only live accounts with a token, and the sweep's query can walk it in expiry
    // order (other paths off: on a table this small the planner would rather read and sort it all).
    const { rows: size } = await q(`SELECT count(*)::int AS n FROM connected_accounts WHERE status = 'ACTIVE' AND deleted_at IS NULL AND token_expires_at IS NOT NULL`);
    expect(size[0].n).toBe(3);
    const c = await clients.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query('SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off');
      const { rows } = await c.query(
        `EXPLAIN (FORMAT JSON) SELECT id, project_id FROM connected_accounts
          WHERE status = $1 AND deleted_at IS NULL AND token_expires_at < $2 AND (next_refresh_at IS NULL OR next_refresh_at < $3)
          ORDER BY token_expires_at ASC LIMIT 200`,
        ['ACTIVE', new Date(Date.now() + 600_000), new Date()],
      );
      expect(JSON.stringify(rows[0]['QUERY PLAN'])).toContain('"Index Name":"connected_accounts_refresh_due_idx"');
      await c.query('ROLLBACK');
    } finally {
      c.release();
    }
  });
});
