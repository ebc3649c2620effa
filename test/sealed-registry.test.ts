/**
 * The registry of sealed values (src/lib/sealed.ts) against the real database: every column that
 * holds a sealed value is listed, and `keys rotate` re-seals every listed value, so the old key can
 * leave the keyring while webhooks keep being signed and OAuth redirects in flight still complete.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { rotateEncryptionKeys } from '../src/jobs/rotate-encryption-keys.js';
import { createCrypto } from '../src/lib/crypto.js';
import { accountStore } from '../src/modules/connected-accounts/account-store.js';
import { SEALED_COLUMNS } from '../src/lib/sealed.js';
import { type MockProvider, startProvider } from './support/oauth-server.js';
import { type OAuthEnv, api, consent, initiate, startOAuthEnv, visit } from './support/oauth-app.js';
import { TEST_CONFIG, TEST_SECRETS } from './support/context.js';
import { apiKeyAccount, linearConfig } from './support/factories.js';
import { download, proxiedFile } from './support/proxied-file.js';
import { type Received, type Receiver, startReceiver } from './support/webhook-receiver.js';
import { type McpAuthServer, startMcpAuthServer } from './support/mcp-auth-server.js';

let provider: MockProvider;
let env: OAuthEnv;
let receiver: Receiver;
let mcp: McpAuthServer;
beforeAll(async () => {
  provider = await startProvider();
  mcp = await startMcpAuthServer();
  // Private addresses allowed: a provider on loopback answers the proxy a file to keep.
  env = await startOAuthEnv(provider, { WEBHOOKS_ALLOW_PRIVATE_URLS: true, EGRESS_ALLOW_PRIVATE_ADDRESSES: true });
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  await mcp.close();
  await env.ctx.close();
  await provider.stop();
});

const header = (r: Received, name: string) => String(r.headers[name]);
const signature = (secret: string, r: Received) =>
  `v1,${createHmac('sha256', secret).update(`${header(r, 'webhook-id')}.${header(r, 'webhook-timestamp')}.${r.body}`).digest('base64')}`;

/** Every (table, column[, json key]) of the public schema that holds at least one sealed value now. */
async function columnsHoldingSealedValues() {
  const { rows: cols } = await env.ctx.pool.query<{ table_name: string; column_name: string; data_type: string }>(
    `SELECT table_name, column_name, data_type FROM information_schema.columns
      WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')`,
  );
  const found = new Set<string>();
  for (const c of cols) {
    const col = `"${c.column_name}"`;
    const table = `"${c.table_name}"`;
    if (c.data_type === 'jsonb' || c.data_type === 'json') {
      const { rows } = await env.ctx.pool.query<{ key: string }>(
        `SELECT DISTINCT e.key FROM ${table}, jsonb_each_text(${col}::jsonb) e WHERE jsonb_typeof(${col}::jsonb) = 'object' AND e.value ~ '^lk1\\.[^.]+\\.'`,
      );
      for (const r of rows) found.add(`${c.table_name}.${c.column_name}.${r.key}`);
      // Sealed values nested deeper than one level would escape the check above: there must be none.
      const { rows: deep } = await env.ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${col}::text ~ '"lk1\\.[^.]+\\.'`);
      if (Number(deep[0]!.n) > rows.length) {
        const { rows: top } = await env.ctx.pool.query<{ n: string }>(
          `SELECT count(*) AS n FROM ${table} WHERE EXISTS (SELECT 1 FROM jsonb_each_text(${col}::jsonb) e WHERE e.value ~ '^lk1\\.[^.]+\\.')`,
        );
        if (Number(deep[0]!.n) > Number(top[0]!.n)) found.add(`${c.table_name}.${c.column_name}.<nested>`);
      }
    } else {
      const expr = c.data_type === 'ARRAY' ? `array_to_string(${col}, ' ')` : col;
      const { rows } = await env.ctx.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table} WHERE ${expr} ~ 'lk1\\.[^.]+\\.'`);
      if (Number(rows[0]!.n) > 0) found.add(`${c.table_name}.${c.column_name}`);
    }
  }
  return found;
}

const registered = new Set(Object.values(SEALED_COLUMNS).map((c) => `${c.table}.${c.column}${'jsonKey' in c ? `.${c.jsonKey}` : ''}`));

describe('sealed values', () => {
  let subscription: { id: string; secret: string };
  let pending: { id: string; redirectUrl: string };
  let apiKeyAccountId: string;
  let dcrPending: { id: string; redirectUrl: string };
  let parked: { id: string; sessionUri: string };
  let file: { path: string; bytes: Buffer };

  it('every column holding a sealed value is in the registry, and every registry entry is exercised', async () => {
    const a = api(env);
    // A subscription whose secret was rotated (a previous secret in its grace period), an OAuth
    // redirect in flight (a PKCE verifier), an API-key account, auth configs with credentials,
    // outbox events carrying account snapshots, and a binary response kept by the proxy.
    const created = await a.post('/webhook_subscriptions', { webhook_url: receiver.url, enabled_events: ['composio.connected_account.activated'] }).expect(201);
    const rotated = await a.post(`/webhook_subscriptions/${created.body.id}/rotate_secret`).expect(200);
    subscription = { id: created.body.id, secret: rotated.body.secret };
    pending = await initiate(env);
    apiKeyAccountId = await apiKeyAccount(env.ctx, await linearConfig(env.ctx), { key: 'lin_api_sealed_123' });
    // An MCP server connection in flight (a registered client's secret) and a parked verified
    // callback (its grant).
    const dcr = await a.post('/auth_configs', { toolkit: { slug: 'mcp' }, auth_config: { type: 'use_custom_auth', authScheme: 'DCR_OAUTH', credentials: { mcp_url: mcp.resource } } }).expect(201);
    dcrPending = await initiate({ ...env, authConfigId: dcr.body.auth_config.id });
    await env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, 'https://app.example/verify');
    const flow = await initiate(env);
    const verifier = new URL((await visit(await consent(flow.redirectUrl))).location!);
    parked = { id: flow.id, sessionUri: verifier.searchParams.get('session_uri')! };
    await env.ctx.app.services.projects.setCallbackVerifier(env.ctx.projectId, '');
    const bytes = randomBytes(300);
    file = { path: (await proxiedFile(env.ctx, bytes)).path, bytes };

    const found = await columnsHoldingSealedValues();
    expect([...found].filter((c) => !registered.has(c)), 'columns holding sealed values that the registry does not list').toEqual([]);
    expect([...registered].filter((c) => !found.has(c)), 'registry entries this test did not exercise').toEqual([]);
  });

  it('keys rotate re-seals every registered value; with only the new key, webhooks are signed and a pending OAuth flow completes', async () => {
    const k2 = randomBytes(32);
    const both = createCrypto({ ...TEST_SECRETS, encryptionKeys: new Map([['k2', k2], ...TEST_SECRETS.encryptionKeys]), activeKeyId: 'k2' });
    const result = await rotateEncryptionKeys(env.ctx.pool, both, { batchSize: 2, writers: { connectedAccountState: accountStore({ db: env.ctx.db, pool: env.ctx.pool, crypto: both, audit: env.ctx.app.services.audit }).reseal } });
    for (const name of registered) expect(result[name]?.rotated, name).toBeGreaterThan(0);
    expect(Object.values(result).every((n) => n.unreadable === 0)).toBe(true);

    // Nothing is left under the old key, anywhere.
    const { rows } = await env.ctx.pool.query<{ n: string }>(
      `SELECT (SELECT count(*) FROM connected_accounts WHERE state LIKE 'lk1.t1.%')
            + (SELECT count(*) FROM auth_configs WHERE credentials LIKE 'lk1.t1.%')
            + (SELECT count(*) FROM oauth_attempts WHERE code_verifier LIKE 'lk1.t1.%')
            + (SELECT count(*) FROM webhook_subscriptions WHERE secret LIKE 'lk1.t1.%' OR previous_secret LIKE 'lk1.t1.%')
            + (SELECT count(*) FROM webhook_events WHERE snapshot ->> 'state' LIKE 'lk1.t1.%')
            + (SELECT count(*) FROM proxy_files WHERE sealed_bytes LIKE 'lk1.t1.%') AS n`,
    );
    expect(Number(rows[0]!.n)).toBe(0);
    expect((await rotateEncryptionKeys(env.ctx.pool, both, { batchSize: 2, writers: { connectedAccountState: accountStore({ db: env.ctx.db, pool: env.ctx.pool, crypto: both, audit: env.ctx.app.services.audit }).reseal } }))['connected_accounts.state']!.rotated).toBe(0);

    // The old key leaves: a server with only k2 takes over the same address (the OAuth callback's).
    const port = (env.ctx.app.server.address() as AddressInfo).port;
    await env.ctx.app.close();
    const onlyNew = createCrypto({ ...TEST_SECRETS, encryptionKeys: new Map([['k2', k2]]), activeKeyId: 'k2' });
    const app = await buildApp({ config: { ...TEST_CONFIG, ...env.config }, db: env.ctx.db, pool: env.ctx.pool, crypto: onlyNew, logStream: process.stderr });
    await app.listen({ host: '127.0.0.1', port });
    try {
      // The OAuth redirect started before the rotation completes (its PKCE verifier opens under k2).
      const landed = await visit(await consent(pending.redirectUrl));
      expect(landed.status, landed.text).toBe(200);
      expect(provider.tokenCalls.at(-1)?.code_verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
      const http = supertest(app.server);
      const read = (id: string) => http.get(`/api/v3.1/connected_accounts/${id}`).set('x-api-key', env.ctx.apiKey).expect(200);
      expect((await read(pending.id)).body.status).toBe('ACTIVE');
      const key = await read(apiKeyAccountId);
      expect(key.body.state.val.api_key).toBe('lin_api_sealed_123');
      // The parked grant and the registered client's secret open under k2 too.
      const redeemed = await http.post('/api/v3.1/connected_accounts/complete_auth').set('x-api-key', env.ctx.apiKey).send({ session_uri: parked.sessionUri, user_id: 'user-1' });
      expect(redeemed.status, JSON.stringify(redeemed.body)).toBe(200);
      expect((await read(parked.id)).body.status).toBe('ACTIVE');
      const dcrLanded = await visit(await consent(dcrPending.redirectUrl));
      expect(dcrLanded.status, dcrLanded.text).toBe(200);
      expect((await read(dcrPending.id)).body.status).toBe('ACTIVE');
      // The proxy's file downloads, byte for byte.
      expect(await download({ http, apiKey: env.ctx.apiKey }, file.path)).toMatchObject({ status: 200, bytes: file.bytes });

      // The activation is delivered, signed with the current secret (and the previous one, in its grace).
      await app.services.webhookDelivery.runOnce();
      const got = receiver.received.filter((r) => JSON.parse(r.body).data?.id === pending.id);
      expect(got).toHaveLength(1);
      expect(header(got[0]!, 'webhook-signature').split(' ')).toContain(signature(subscription.secret, got[0]!));
    } finally {
      await app.close();
    }
  });

  it('a delivery whose signing secret cannot be opened fails with that reason and is not claimed again', async () => {
    const onlyNew = createCrypto({ ...TEST_SECRETS, encryptionKeys: new Map([['k3', randomBytes(32)]]), activeKeyId: 'k3' });
    const app = await buildApp({ config: { ...TEST_CONFIG, ...env.config }, db: env.ctx.db, pool: env.ctx.pool, crypto: onlyNew, logStream: process.stderr });
    await app.ready();
    try {
      // This server's keyring lacks the key the secret is sealed with.
      await env.ctx.pool.query(`UPDATE webhook_subscriptions SET enabled_events = enabled_events || '{composio.connected_account.enabled}' WHERE id = $1`, [
        subscription.id,
      ]);
      await env.ctx.pool.query(`UPDATE connected_accounts SET status = 'INACTIVE' WHERE id = $1`, [apiKeyAccountId]);
      await env.ctx.pool.query(`UPDATE connected_accounts SET status = 'ACTIVE' WHERE id = $1`, [apiKeyAccountId]);
      const before = receiver.received.length;
      await app.services.webhookDelivery.runOnce();
      const { rows } = await env.ctx.pool.query<{ status: string; last_error: string; attempts: number; lease_until: Date | null }>(
        `SELECT d.status, d.last_error, d.attempts, d.lease_until FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
          WHERE d.subscription_id = $1 AND e.type = 'composio.connected_account.enabled'`,
        [subscription.id],
      );
      expect(rows).toEqual([{ status: 'FAILED', last_error: 'signing secret unreadable', attempts: 1, lease_until: null }]);
      expect(receiver.received.length).toBe(before);
      // A second run finds nothing to claim.
      expect((await app.services.webhookDelivery.runOnce()).delivered).toBe(0);
    } finally {
      await app.close();
    }
  });
});
