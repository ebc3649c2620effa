/**
 * What the audit log records, through the real API on a real PostgreSQL: every administrative
 * change with its actor and request id, in the change's own transaction (a change whose record
 * cannot be written rolls back), the reads that handed out a secret, and never a secret itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { actingAs, operator } from '../src/modules/audit/audit-context.js';
import { auditBuffer } from '../src/modules/audit/audit-buffer.js';
import { auditRepository, resolveEntry } from '../src/modules/audit/audit.repository.js';
import { type TestContext, createTestContext } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';

const V = '/api/v3.1';
const SECRET = 'lin_api_6f1e9c2b7d4a8e3f0c5b';
const SECRET_2 = 'lin_api_patched_a93be17c44d2';
let ctx: TestContext;
let keyId: string;
const signingSecrets: string[] = [];

type Rec = { id: string; actor: string; action: string; object_id: string; object_ids: string[] | null; outcome: string; request_id: string | null; detail: Record<string, unknown> | null };

async function records(q: Record<string, string> = {}): Promise<Rec[]> {
  await ctx.app.services.audit.flush();
  return (await ctx.http.get(`${V}/audit_logs`).set('x-api-key', ctx.apiKey).query({ limit: 200, ...q }).expect(200)).body.items;
}

/** A trigger that makes every audit insert fail, for the duration of `fn`. */
async function withAuditInsertFailing(fn: () => Promise<void>) {
  await ctx.pool.query(`CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'audit store refused'; END; $$`);
  await ctx.pool.query('CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION test_refuse_audit()');
  try {
    await fn();
  } finally {
    await ctx.pool.query('DROP TRIGGER test_refuse_audit ON audit_logs');
  }
}

beforeAll(async () => {
  ctx = await createTestContext();
  keyId = (await ctx.app.services.projects.listKeys(ctx.projectId))[0]!.id;
});
afterAll(async () => ctx?.close());

describe('administrative changes', () => {
  let configId: string;
  let accountId: string;
  const requestIds: Record<string, string> = {};

  beforeAll(async () => {
    configId = await linearConfig(ctx);
    accountId = await apiKeyAccount(ctx, configId, { key: SECRET });
    const patch = await ctx.http.patch(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey).set('x-request-id', 'req_patch_1')
      .send({ connection: { state: { authScheme: 'API_KEY', val: { api_key: SECRET_2 } } } }).expect(200);
    requestIds.patch = patch.headers['x-request-id'] as string;
    await ctx.http.patch(`${V}/connected_accounts/${accountId}/status`).set('x-api-key', ctx.apiKey).send({ enabled: false }).expect(200);
    await ctx.http.patch(`${V}/connected_accounts/${accountId}/status`).set('x-api-key', ctx.apiKey).send({ enabled: true }).expect(200);
    await ctx.http.patch(`${V}/auth_configs/${configId}/DISABLED`).set('x-api-key', ctx.apiKey).expect(200);
    await ctx.http.patch(`${V}/auth_configs/${configId}/ENABLED`).set('x-api-key', ctx.apiKey).expect(200);
  });

  it('are each recorded with the API key as actor and the request id', async () => {
    const mine = (await records({ object_id: accountId })).reverse();
    expect(mine.map((r) => r.action)).toEqual(['connected_account.create', 'connected_account.update', 'connected_account.disable', 'connected_account.enable']);
    expect(mine.every((r) => r.actor === keyId && r.outcome === 'success' && r.request_id)).toBe(true);
    expect(mine[1]).toMatchObject({ request_id: 'req_patch_1', detail: { fields: ['credentials'] } });
    expect(requestIds.patch).toBe('req_patch_1');
    const cfg = (await records({ object_id: configId })).reverse();
    expect(cfg.map((r) => r.action)).toEqual(['auth_config.create', 'auth_config.disable', 'auth_config.enable']);
  });

  it('made by an operator name the operator; key creation, revocation and masking are recorded', async () => {
    const { projects } = ctx.app.services;
    const who = operator('cli:alice');
    const made = await actingAs({ actor: who }, () => projects.createKey(ctx.projectId, 'temp'));
    await actingAs({ actor: who }, () => projects.revokeKey(ctx.projectId, made.id));
    await actingAs({ actor: who }, () => projects.setMasking(ctx.projectId, false));
    const byOperator = (await records({ actor: who })).reverse();
    expect(byOperator.map((r) => [r.action, r.object_id])).toEqual([
      ['api_key.create', made.id],
      ['api_key.revoke', made.id],
      ['project.set_masking', ctx.projectId],
    ]);
    expect(byOperator[2]!.detail).toEqual({ mask_credentials: false });
  });

  it('deleting an account and an auth config is recorded', async () => {
    const other = await apiKeyAccount(ctx, configId, { key: SECRET });
    await ctx.http.delete(`${V}/connected_accounts/${other}`).set('x-api-key', ctx.apiKey).expect(200);
    const cfg2 = await linearConfig(ctx);
    await ctx.http.delete(`${V}/auth_configs/${cfg2}`).set('x-api-key', ctx.apiKey).expect(200);
    expect((await records({ object_id: other }))[0]!.action).toBe('connected_account.delete');
    expect((await records({ object_id: cfg2 }))[0]!.action).toBe('auth_config.delete');
  });
});

describe('webhook subscriptions', () => {
  it('creation, changes, secret rotation, redelivery and deletion are recorded; the signing secret is not', async () => {
    const made = await ctx.http.post(`${V}/webhook_subscriptions`).set('x-api-key', ctx.apiKey)
      .send({ webhook_url: 'https://hooks.example.com/latchkey', enabled_events: ['composio.connected_account.created'] }).expect(201);
    const id = made.body.id as string;
    signingSecrets.push(made.body.secret as string);
    await ctx.http.patch(`${V}/webhook_subscriptions/${id}`).set('x-api-key', ctx.apiKey).send({ enabled: false }).expect(200);
    const rotated = await ctx.http.post(`${V}/webhook_subscriptions/${id}/rotate_secret`).set('x-api-key', ctx.apiKey).expect(200);
    signingSecrets.push(rotated.body.secret as string);
    await ctx.http.delete(`${V}/webhook_subscriptions/${id}`).set('x-api-key', ctx.apiKey).expect(200);
    const recs = (await records({ object_id: id })).reverse();
    expect(recs.map((r) => r.action)).toEqual([
      'webhook_subscription.create',
      'webhook_subscription.update',
      'webhook_subscription.rotate_secret',
      'webhook_subscription.delete',
    ]);
    expect(recs[1]!.detail).toEqual({ fields: ['enabled'] });
  });
});

describe('a change without its record is impossible', () => {
  it('when the record cannot be written, the change rolls back', async () => {
    const configId = await linearConfig(ctx);
    const accountId = await apiKeyAccount(ctx, configId, { key: SECRET });
    const { projects } = ctx.app.services;
    const spare = await projects.createKey(ctx.projectId, 'spare');
    const countAccounts = async () => Number((await ctx.pool.query('SELECT count(*) FROM connected_accounts WHERE deleted_at IS NULL')).rows[0].count);
    const before = await countAccounts();

    await withAuditInsertFailing(async () => {
      await expect(projects.revokeKey(ctx.projectId, spare.id)).rejects.toThrow();
      await expect(projects.createKey(ctx.projectId, 'never')).rejects.toThrow();
      const patch = await ctx.http.patch(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey).send({ alias: 'never-written' });
      expect(patch.status).toBeGreaterThanOrEqual(500);
      const disable = await ctx.http.patch(`${V}/connected_accounts/${accountId}/status`).set('x-api-key', ctx.apiKey).send({ enabled: false });
      expect(disable.status).toBeGreaterThanOrEqual(500);
      const del = await ctx.http.delete(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey);
      expect(del.status).toBeGreaterThanOrEqual(500);
      const create = await ctx.http.post(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey)
        .send({ auth_config: { id: configId }, connection: { state: { authScheme: 'API_KEY', val: { api_key: SECRET } } } });
      expect(create.status).toBeGreaterThanOrEqual(500);
      const cfg = await ctx.http.patch(`${V}/auth_configs/${configId}/DISABLED`).set('x-api-key', ctx.apiKey);
      expect(cfg.status).toBeGreaterThanOrEqual(500);
    });

    const keys = await projects.listKeys(ctx.projectId);
    expect(keys.find((k) => k.id === spare.id)?.revokedAt).toBeNull();
    expect(keys.some((k) => k.name === 'never')).toBe(false);
    const account = await ctx.http.get(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(account.body).toMatchObject({ status: 'ACTIVE', alias: null });
    expect(await countAccounts()).toBe(before);
    const cfg = await ctx.http.get(`${V}/auth_configs/${configId}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(cfg.body.status).toBe('ENABLED');
  });
});

describe('reads of secrets', () => {
  let accountId: string;
  beforeAll(async () => {
    accountId = await apiKeyAccount(ctx, await linearConfig(ctx), { key: SECRET });
  });

  it('GET, list, auth_params and the v1 info route are recorded; masked reads are not', async () => {
    const get = await ctx.http.get(`${V}/connected_accounts/${accountId}`).set('x-api-key', ctx.apiKey).expect(200);
    expect(get.body.state.val.api_key).toBe(SECRET);
    await ctx.http.get(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey).query({ connected_account_ids: accountId }).expect(200);
    await ctx.http.get(`${V}/connected_accounts/${accountId}/auth_params`).set('x-api-key', ctx.apiKey).expect(200);
    await ctx.http.get(`/api/v1/connectedAccounts/${accountId}/info`).set('x-api-key', ctx.apiKey).expect(200);
    const masked = await ctx.app.services.projects.createKey(ctx.projectId, 'masked', { masked: true });
    await ctx.http.get(`${V}/connected_accounts/${accountId}`).set('x-api-key', masked.apiKey).expect(200);

    const reads = (
      await records({ object_id: accountId, action: 'connected_account.read_secret,connected_account.list_secrets,connected_account.read_auth_params' })
    ).reverse();
    expect(reads.map((r) => r.action)).toEqual([
      'connected_account.read_secret',
      'connected_account.list_secrets',
      'connected_account.read_auth_params',
      'connected_account.read_auth_params',
    ]);
    expect(reads.every((r) => r.actor === keyId)).toBe(true);
    expect(reads[0]!.request_id).toBe(get.headers['x-request-id']);
    expect(reads[0]).toMatchObject({ object_id: accountId, object_ids: null });
    // The list page is one record about the project that names the accounts it returned.
    expect(reads[1]).toMatchObject({ object_id: ctx.projectId, object_ids: [accountId] });
  });

  it('a list page is one record naming its accounts in page order, found by each of them; masked pages make none', async () => {
    const config = await linearConfig(ctx);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await apiKeyAccount(ctx, config, { key: `${SECRET}-${i}`, userId: 'page_reader' }));
    const list = await ctx.http.get(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey).query({ user_ids: 'page_reader', limit: 2 }).expect(200);
    const shown = (list.body.items as { id: string }[]).map((a) => a.id);
    expect(shown).toHaveLength(2);
    const masked = await ctx.app.services.projects.createKey(ctx.projectId, 'masked-list', { masked: true });
    await ctx.http.get(`${V}/connected_accounts`).set('x-api-key', masked.apiKey).query({ user_ids: 'page_reader' }).expect(200);
    for (const id of ids) {
      const found = await records({ object_id: id, action: 'connected_account.list_secrets' });
      expect(found.map((r) => r.object_ids)).toEqual(shown.includes(id) ? [shown] : []);
    }
    const all = await records({ object_id: ctx.projectId, action: 'connected_account.list_secrets' });
    expect(all.filter((r) => r.object_ids?.some((id) => ids.includes(id)))).toHaveLength(1);
  });

  it('a record about several objects keeps them whichever way it is written (a transaction, a Prisma transaction, the buffer)', async () => {
    const repo = auditRepository(ctx.db, ctx.pool);
    const entry = (actor: string) => ({ projectId: ctx.projectId, action: 'connected_account.list_secrets' as const, objectId: ctx.projectId, objectIds: ['ca_many1', 'ca_many2'], actor });
    const client = await ctx.pool.connect();
    try {
      await client.query('BEGIN');
      await repo.recordIn(client, entry('key_many_pg'));
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    await ctx.db.$transaction((tx) => repo.recordIn(tx, entry('key_many_prisma')));
    await repo.recordMany([resolveEntry(entry('key_many_buffer'))]);
    const found = await records({ object_id: 'ca_many2', action: 'connected_account.list_secrets' });
    expect(found.map((r) => [r.actor, r.object_ids]).sort()).toEqual([
      ['key_many_buffer', ['ca_many1', 'ca_many2']],
      ['key_many_pg', ['ca_many1', 'ca_many2']],
      ['key_many_prisma', ['ca_many1', 'ca_many2']],
    ]);
  });

  it('buffered records are written on close, one statement for many', async () => {
    const repo = auditRepository(ctx.db, ctx.pool);
    const buffer = auditBuffer({ write: repo.recordMany, flushEveryMs: 60_000 });
    for (let i = 0; i < 3; i++) void buffer.push({ projectId: ctx.projectId, action: 'connected_account.read_secret', objectId: 'ca_buffered', actor: 'key_buffer' });
    expect(buffer.pendingCount()).toBe(3);
    expect(await records({ object_id: 'ca_buffered' })).toEqual([]);
    await buffer.close();
    expect(await records({ object_id: 'ca_buffered' })).toHaveLength(3);
  });

  it('a failed flush keeps the records and writes them on the next', async () => {
    let fail = true;
    const repo = auditRepository(ctx.db, ctx.pool);
    const errors: unknown[] = [];
    const buffer = auditBuffer({ write: (r) => (fail ? Promise.reject(new Error('database away')) : repo.recordMany(r)), flushEveryMs: 60_000, onError: (e) => errors.push(e) });
    void buffer.push({ projectId: ctx.projectId, action: 'proxy.call', objectId: 'ca_retried', actor: 'key_buffer' });
    await buffer.flush();
    expect(errors).toHaveLength(1);
    expect(buffer.pendingCount()).toBe(1);
    fail = false;
    await buffer.close();
    expect(await records({ object_id: 'ca_retried' })).toHaveLength(1);
  });
});

describe('the read buffer under a backlog', () => {
  it('writes a backlog with up to `writers` batches at once, every record once', async () => {
    const repo = auditRepository(ctx.db, ctx.pool);
    let inFlight = 0;
    let most = 0;
    const sizes: number[] = [];
    const write = async (r: Parameters<typeof repo.recordMany>[0]) => {
      most = Math.max(most, ++inFlight);
      sizes.push(r.length);
      try {
        await repo.recordMany(r);
      } finally {
        inFlight--;
      }
    };
    const buffer = auditBuffer({ write, flushEveryMs: 60_000, maxBatch: 100, writers: 3 });
    for (let i = 0; i < 1_050; i++) void buffer.push({ projectId: ctx.projectId, action: 'connected_account.read_secret', objectId: `ca_backlog${i}`, actor: 'key_backlog' });
    await buffer.flush();
    expect(buffer.pendingCount()).toBe(0);
    expect(most).toBe(3);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(1_050);
    const { rows } = await ctx.pool.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT object_id)::int AS d FROM audit_logs WHERE actor = 'key_backlog'`,
    );
    expect(rows[0]).toEqual({ n: 1_050, d: 1_050 });
    await buffer.close();
  });

  it('a write that fails while another succeeds loses nothing: its records are written by the next flush', async () => {
    const repo = auditRepository(ctx.db, ctx.pool);
    let calls = 0;
    const errors: unknown[] = [];
    const write = (r: Parameters<typeof repo.recordMany>[0]) => (++calls === 2 ? Promise.reject(new Error('connection lost')) : repo.recordMany(r));
    const buffer = auditBuffer({ write, flushEveryMs: 60_000, maxBatch: 10, writers: 2, onError: (e) => errors.push(e) });
    for (let i = 0; i < 35; i++) void buffer.push({ projectId: ctx.projectId, action: 'connected_account.read_secret', objectId: `ca_partial${i}`, actor: 'key_partial' });
    await buffer.flush();
    expect(errors).toHaveLength(1);
    expect(buffer.pendingCount()).toBeGreaterThan(0);
    await buffer.close();
    expect(buffer.pendingCount()).toBe(0);
    const { rows } = await ctx.pool.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT object_id)::int AS d FROM audit_logs WHERE actor = 'key_partial'`,
    );
    expect(rows[0]).toEqual({ n: 35, d: 35 });
  });
});

describe('backpressure', () => {
  it('a read waits while the queue is full, and goes on once the log has caught up; nothing is lost', async () => {
    const repo = auditRepository(ctx.db, ctx.pool);
    let release!: () => void;
    let gate = new Promise<void>((r) => (release = r));
    const write = async (r: Parameters<typeof repo.recordMany>[0]) => {
      await gate;
      await repo.recordMany(r);
    };
    const buffer = auditBuffer({ write, flushEveryMs: 60_000, maxBatch: 100, writers: 1, highWater: 1_000 });
    const entry = (i: number) => ({ projectId: ctx.projectId, action: 'connected_account.read_secret' as const, objectId: `ca_pressure${i}`, actor: 'key_pressure' });
    const early: (Promise<void> | undefined)[] = [];
    for (let i = 0; i < 999; i++) early.push(buffer.push(entry(i)));
    expect(early.every((w) => w === undefined)).toBe(true); // room: no promise on the hot path
    let waited = false;
    const full = buffer.push(entry(999));
    void buffer.push(entry(1000));
    expect(full).toBeInstanceOf(Promise);
    void full!.then(() => (waited = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(waited).toBe(false); // the writer is held: the read is still waiting
    release();
    gate = Promise.resolve();
    await full;
    expect(buffer.pendingCount()).toBeLessThan(1_000);
    await buffer.close();
    const { rows } = await ctx.pool.query<{ n: number }>(`SELECT count(DISTINCT object_id)::int AS n FROM audit_logs WHERE actor = 'key_pressure'`);
    expect(rows[0]!.n).toBe(1_001);
  });

  it('a read waiting for room goes on when the database is away (the records are kept, bounded)', async () => {
    const errors: unknown[] = [];
    const buffer = auditBuffer({ write: () => Promise.reject(new Error('database away')), flushEveryMs: 60_000, maxBatch: 10, writers: 1, highWater: 20, onError: (e) => errors.push(e) });
    const entries = Array.from({ length: 25 }, (_, i) => ({ projectId: ctx.projectId, action: 'connected_account.read_secret' as const, objectId: `ca_away${i}`, actor: 'key_away' }));
    const waits = entries.map((e) => buffer.push(e));
    expect(waits.some((w) => w instanceof Promise)).toBe(true);
    await Promise.all(waits); // resolves: the failed write stalls the buffer and releases the reads
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(buffer.pendingCount()).toBe(25);
  });
});

describe('no secret in any record', () => {
  it('the whole table, every column, holds none of the credentials or API keys used', async () => {
    await ctx.app.services.audit.flush();
    const { rows } = await ctx.pool.query('SELECT * FROM audit_logs');
    expect(rows.length).toBeGreaterThan(10);
    const text = JSON.stringify(rows);
    expect(signingSecrets).toHaveLength(2);
    for (const secret of [SECRET, SECRET_2, ctx.apiKey, ctx.apiKey.slice(3), ...signingSecrets]) expect(text).not.toContain(secret);
  });
});

describe('export', () => {
  it("yields every record of a project oldest first, and no other project's", async () => {
    const other = await ctx.newProject();
    await ctx.app.services.audit.flush();
    const all: { project_id: string; created_at: string; id: string }[] = [];
    for await (const r of ctx.app.services.audit.export({ projectId: ctx.projectId }, 7)) all.push(r);
    expect(all.length).toBe(Number((await ctx.pool.query('SELECT count(*) FROM audit_logs WHERE project_id = $1', [ctx.projectId])).rows[0].count));
    expect(all.every((r) => r.project_id === ctx.projectId)).toBe(true);
    expect(all.some((r) => r.project_id === other.projectId)).toBe(false);
    const keys = all.map((r) => `${r.created_at}|${r.id}`);
    expect([...keys].sort()).toEqual(keys);
  });
});
