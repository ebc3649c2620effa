/**
 * The upgrade to list pages recorded as one audit record each: a database made by the previous
 * release (its migrations only) holds per-account read records and a change's record; after the new
 * migration they read back unchanged (no object_ids), a filter by account still finds them, and a
 * list page's record written by this release is found by every account it names, old and new
 * together, newest first.
 */
import { describe, expect, it } from 'vitest';
import { auditBuffer } from '../src/modules/audit/audit-buffer.js';
import { auditRepository } from '../src/modules/audit/audit.repository.js';
import { auditService } from '../src/modules/audit/audit.service.js';
import { databaseOfRelease } from './support/migrations.js';

/** The last migration of the release that wrote one read record per listed account. */
const PREVIOUS_RELEASE = '20261202072500_seal_proxy_files';
const NEW_MIGRATION = '20261202150000_audit_object_ids';

describe('upgrading the audit log to records about several objects', () => {
  it("keeps the previous release's records as they were and finds old and new records by account", async () => {
    const { clients, upgrade } = await databaseOfRelease(PREVIOUS_RELEASE);

    // As the previous release wrote them: a list page of two accounts was two read records.
    await clients.pool.query(`INSERT INTO projects (id, name, updated_at) VALUES ('proj_upgraded', 'upgraded', now())`);
    const old = [
      ['al_old_change', 'connected_account.create', 'ca_first', '{"status":"ACTIVE"}', '2026-12-01T10:00:00Z'],
      ['al_old_read_1', 'connected_account.read_secret', 'ca_first', null, '2026-12-01T11:00:00Z'],
      ['al_old_read_2', 'connected_account.read_secret', 'ca_second', null, '2026-12-01T11:00:00Z'],
    ];
    for (const [id, action, objectId, detail, at] of old) {
      await clients.pool.query(
        `INSERT INTO audit_logs (id, project_id, actor, action, object_id, outcome, request_id, detail, created_at)
         VALUES ($1, 'proj_upgraded', 'key_old', $2, $3, 'success', 'req_old', $4::jsonb, $5)`,
        [id, action, objectId, detail, at],
      );
    }

    // Upgraded to this checkout's migrations: the one under test first, then any later ones.
    expect((await upgrade())[0]).toBe(NEW_MIGRATION);

    const repo = auditRepository(clients.db, clients.pool);
    const buffer = auditBuffer({ write: repo.recordMany, flushEveryMs: 60_000 });
    const audit = auditService({ repo, buffer, retentionDays: 365 });
    void audit.recordRead({ projectId: 'proj_upgraded', action: 'connected_account.list_secrets', objectId: 'proj_upgraded', objectIds: ['ca_second', 'ca_third'], actor: 'key_new' });
    await audit.close();

    const byAccount = async (id: string) => (await audit.listAuditLogs('proj_upgraded', { object_id: id }, undefined, 50)).items;
    const first = await byAccount('ca_first');
    expect(first.map((r) => [r.id, r.object_id, r.object_ids, r.detail])).toEqual([
      ['al_old_read_1', 'ca_first', null, null],
      ['al_old_change', 'ca_first', null, { status: 'ACTIVE' }],
    ]);
    const second = await byAccount('ca_second');
    expect(second.map((r) => [r.action, r.object_id, r.object_ids])).toEqual([
      ['connected_account.list_secrets', 'proj_upgraded', ['ca_second', 'ca_third']],
      ['connected_account.read_secret', 'ca_second', null],
    ]);
    expect((await byAccount('ca_third')).map((r) => r.actor)).toEqual(['key_new']);
    expect(await byAccount('ca_fourth')).toEqual([]);
    // Keyset pages over old and new records together: nothing repeated, nothing skipped.
    const p1 = await audit.listAuditLogs('proj_upgraded', { object_id: 'ca_second' }, undefined, 1);
    const p2 = await audit.listAuditLogs('proj_upgraded', { object_id: 'ca_second' }, p1.next_cursor!, 1);
    expect([...p1.items, ...p2.items].map((r) => r.id)).toEqual(second.map((r) => r.id));
    expect(p2.next_cursor).toBeNull();

    const { rows } = await clients.pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE indexname = 'audit_logs_object_ids_idx'`);
    expect(rows[0]!.indexdef).toMatch(/USING gin \(object_ids\) WHERE \(object_ids IS NOT NULL\)/);
  });
});
