/**
 * The audit log: GET /api/v3.1/audit_logs (filters, keyset pages, tenancy, bad input), the table's
 * append-only rule, retention and the read buffer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actingAs } from '../src/modules/audit/audit-context.js';
import { type TestContext, createTestContext } from './support/context.js';

const V = '/api/v3.1';
let ctx: TestContext;

beforeAll(async () => {
  ctx = await createTestContext();
});
afterAll(async () => ctx?.close());

const list = (query: Record<string, string | number | undefined>, key = ctx.apiKey) => ctx.http.get(`${V}/audit_logs`).set('x-api-key', key).query(query);

describe('GET /audit_logs', () => {
  let other: { projectId: string; apiKey: string };
  beforeAll(async () => {
    other = await ctx.newProject();
    const { audit } = ctx.app.services;
    await actingAs({ actor: 'key_filterA', requestId: 'req_one' }, async () => {
      for (let i = 0; i < 7; i++) await audit.record(ctx.pool, { projectId: ctx.projectId, action: 'connected_account.update', objectId: `ca_page${i}` });
    });
    await audit.record(ctx.pool, { projectId: ctx.projectId, action: 'api_key.revoke', objectId: 'key_target', actor: 'operator:alice' });
    await audit.record(ctx.pool, { projectId: other.projectId, action: 'api_key.revoke', objectId: 'key_target', actor: 'operator:alice' });
  });

  it('pages newest first through every record with keyset cursors, none twice', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: { items: { id: string }[]; next_cursor: string | null } } = await list({ limit: 3, ...(cursor ? { cursor } : {}) }).expect(200);
      seen.push(...res.body.items.map((r: { id: string }) => r.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(new Set(seen).size).toBe(seen.length);
    const all = (await list({ limit: 200 }).expect(200)).body.items as { id: string; created_at: string }[];
    expect(seen).toEqual(all.map((r) => r.id));
    expect(all.length).toBeGreaterThanOrEqual(8);
    const times = all.map((r) => r.created_at);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('filters by object, actor, action and time range', async () => {
    const byObject = (await list({ object_id: 'ca_page3' }).expect(200)).body.items;
    expect(byObject).toHaveLength(1);
    expect(byObject[0]).toMatchObject({ object_id: 'ca_page3', actor: 'key_filterA', request_id: 'req_one', action: 'connected_account.update', outcome: 'success' });

    const byActor = (await list({ actor: 'operator:alice' }).expect(200)).body.items;
    expect(byActor).toHaveLength(1);
    expect(byActor[0].object_id).toBe('key_target');

    const byAction = (await list({ action: 'api_key.revoke,api_key.create' }).expect(200)).body.items;
    expect(byAction.map((r: { action: string }) => r.action)).toEqual(['api_key.revoke']);

    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await list({ from: future }).expect(200)).body.items).toEqual([]);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    expect((await list({ to: past }).expect(200)).body.items).toEqual([]);
    expect((await list({ from: past, to: future, actor: 'key_filterA' }).expect(200)).body.items).toHaveLength(7);
  });

  it("never shows another project's records", async () => {
    const mine = (await list({ object_id: 'key_target' }).expect(200)).body.items;
    const theirs = (await list({ object_id: 'key_target' }, other.apiKey).expect(200)).body.items;
    expect(mine).toHaveLength(1);
    expect(theirs).toHaveLength(1);
    expect(mine[0].id).not.toBe(theirs[0].id);
    expect((await list({ actor: 'key_filterA' }, other.apiKey).expect(200)).body.items).toEqual([]);
  });

  it('answers bad filters and cursors with a 400 in the envelope', async () => {
    for (const q of [{ action: 'nope.nothing' }, { from: 'yesterday' }, { limit: 0 }, { limit: 201 }, { cursor: 'not-a-cursor!' }, { cursor: 'eyJ4IjoxfQ' }]) {
      const res = await list(q).expect(400);
      expect(res.body.error.status).toBe(400);
    }
    await ctx.http.get(`${V}/audit_logs`).expect(401);
  });
});

describe('the audit_logs table', () => {
  it('refuses to change a record', async () => {
    await ctx.app.services.audit.record(ctx.pool, { projectId: ctx.projectId, action: 'project.set_masking', objectId: ctx.projectId });
    await expect(ctx.pool.query("UPDATE audit_logs SET outcome = 'failure'")).rejects.toThrow(/append-only/);
  });

  it('retention prunes only records older than the retention period', async () => {
    const { rows } = await ctx.pool.query<{ id: string }>('SELECT id FROM audit_logs ORDER BY created_at LIMIT 1');
    await ctx.pool.query('ALTER TABLE audit_logs DISABLE TRIGGER audit_logs_append_only');
    await ctx.pool.query("UPDATE audit_logs SET created_at = now() - interval '400 days' WHERE id = $1", [rows[0]!.id]);
    await ctx.pool.query('ALTER TABLE audit_logs ENABLE TRIGGER audit_logs_append_only');
    const before = Number((await ctx.pool.query('SELECT count(*) FROM audit_logs')).rows[0].count);
    expect(await ctx.app.services.audit.prune()).toBe(1);
    const after = Number((await ctx.pool.query('SELECT count(*) FROM audit_logs')).rows[0].count);
    expect(after).toBe(before - 1);
  });
});
