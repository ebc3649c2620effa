/**
 * Secrets at rest: credential values never reach the database in clear (nor base64-encoded), never
 * reach the logs, never come back in error responses, and a sealed value copied to another row does
 * not open there.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestContext, createTestContext } from './support/context.js';
import { download, proxiedFile } from './support/proxied-file.js';

let ctx: TestContext;
beforeAll(async () => {
  // The most verbose logs there are: nothing at any level may carry a secret.
  // Private addresses allowed: a provider on loopback answers the proxy a file.
  ctx = await createTestContext({ config: { LOG_LEVEL: 'trace', EGRESS_ALLOW_PRIVATE_ADDRESSES: true } });
});
afterAll(() => ctx.close());

const V = '/api/v3.1';
type Res = { status: number; body: unknown; headers: Record<string, string>; text: string };
type Envelope = { error: { message: string; code: number; slug: string; status: number; request_id: string } };

const tag = randomBytes(4).toString('hex');
/** Distinctive values that cannot occur by chance. */
const S = {
  linearKey: `lin_api_LINEARKEY${tag}Zq81`,
  linearKey2: `lin_api_ROTATEDKEY${tag}Wp42`,
  linearKeyOld: `lin_api_OLDKEY${tag}Hh17`,
  deletedKey: `lin_api_DELETEDKEY${tag}Ff03`,
  stripeKey: `sk_live_STRIPEKEY${tag}Rt56`,
  openaiKey: `sk-proj-OPENAIKEY${tag}Yu90`,
  clientSecret: `ghcs_CLIENTSECRET${tag}Kk22`,
  clientSecret2: `ghcs_ROTATEDSECRET${tag}Mm88`,
  twilioPassword: `twtok_TWILIOPASS${tag}Nn64`,
  zendeskPassword: `zdtok_ZENDESKPASS${tag}Bb35`,
  extraSecret: `whsec_EXTRASECRET${tag}Cc11`,
  errorKey: `lin_api_ERRORKEY${tag}Dd77`,
  errorSecret: `ghcs_ERRORSECRET${tag}Ee99`,
  fileBody: `FILEBODY${tag}Gg45`,
};
/** A provider's binary answer kept by the proxy for download, carrying a distinctive value. */
const FILE = Buffer.concat([Buffer.from([0x89, 0, 1, 2, 255]), Buffer.from(S.fileBody, 'utf8'), Buffer.from([0, 254])]);
const TWILIO_USER = `AC${tag}twuser`;
const ZENDESK_USER = `agent-${tag}@acme.com`;

/** Every form a secret could leak in: as is, base64, base64url, and inside Basic credentials. */
function forms(): [string, string][] {
  const out: [string, string][] = [];
  const add = (label: string, v: string) => {
    out.push([label, v]);
    out.push([`${label} (base64)`, Buffer.from(v, 'utf8').toString('base64')]);
    out.push([`${label} (base64url)`, Buffer.from(v, 'utf8').toString('base64url')]);
    out.push([`${label} (hex)`, Buffer.from(v, 'utf8').toString('hex')]);
  };
  for (const [k, v] of Object.entries(S)) add(k, v);
  add('twilio basic pair', `${TWILIO_USER}:${S.twilioPassword}`);
  add('zendesk basic pair', `${ZENDESK_USER}/token:${S.zendeskPassword}`);
  return out;
}
function expectNoSecret(text: string, where: string) {
  for (const [label, v] of forms()) expect(text.includes(v), `${label} found in ${where}`).toBe(false);
}

/** JSON of anything the database returns: bigint, Buffer/Uint8Array and Date safe. */
function dump(value: unknown): string {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) {
      const b = Buffer.from(v);
      return { bytes_latin1: b.toString('latin1'), bytes_utf8: b.toString('utf8'), bytes_hex: b.toString('hex') };
    }
    if (v instanceof Date) return v.toISOString();
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return JSON.stringify(walk(value));
}

const post = (path: string, body: unknown) => ctx.http.post(`${V}${path}`).set('x-api-key', ctx.apiKey).send(body as object);
const patch = (path: string, body: unknown) => ctx.http.patch(`${V}${path}`).set('x-api-key', ctx.apiKey).send(body as object);
const get = (path: string) => ctx.http.get(`${V}${path}`).set('x-api-key', ctx.apiKey);

async function config(toolkit: string, authConfig: Record<string, unknown>): Promise<string> {
  const res = await post('/auth_configs', { toolkit: { slug: toolkit }, auth_config: authConfig });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { auth_config: { id: string } }).auth_config.id;
}
async function account(cfg: string, authScheme: string, val: Record<string, unknown>, userId = 'u1'): Promise<string> {
  const res = await post('/connected_accounts', { auth_config: { id: cfg }, connection: { user_id: userId, state: { authScheme, val: { status: 'ACTIVE', ...val } } } });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as { id: string }).id;
}

/** Every error response provoked in this file, checked for secrets at the end. */
const errorBodies: { label: string; text: string }[] = [];
function keepError(label: string, res: Res) {
  expect(res.status, `${label}: ${res.text}`).toBeGreaterThanOrEqual(400);
  errorBodies.push({ label, text: res.text });
}

const ids: Record<string, string> = {};
beforeAll(async () => {
  ids.linearCfg = await config('linear', { type: 'use_custom_auth', authScheme: 'API_KEY' });
  ids.githubCfg = await config('github', {
    type: 'use_custom_auth',
    authScheme: 'OAUTH2',
    credentials: { client_id: 'Iv1.visible-client-id', client_secret: S.clientSecret, webhook_secret: S.extraSecret },
  });
  ids.stripeCfg = await config('stripe', { type: 'use_composio_managed_auth' });
  ids.openaiCfg = await config('openai', { type: 'use_custom_auth', authScheme: 'API_KEY' });
  ids.twilioCfg = await config('twilio', { type: 'use_custom_auth', authScheme: 'BASIC' });
  ids.zendeskCfg = await config('zendesk', { type: 'use_custom_auth', authScheme: 'BASIC' });

  ids.linear = await account(ids.linearCfg, 'API_KEY', { api_key: S.linearKey });
  ids.linearRotated = await account(ids.linearCfg, 'API_KEY', { api_key: S.linearKeyOld }, 'u2');
  await patch(`/connected_accounts/${ids.linearRotated}`, { connection: { state: { authScheme: 'API_KEY', val: { api_key: S.linearKey2 } } } }).expect(200);
  ids.deleted = await account(ids.linearCfg, 'API_KEY', { api_key: S.deletedKey }, 'u3');
  await ctx.http.delete(`${V}/connected_accounts/${ids.deleted}`).set('x-api-key', ctx.apiKey).expect(200);
  ids.stripe = await account(ids.stripeCfg, 'API_KEY', { api_key: S.stripeKey });
  ids.openai = await account(ids.openaiCfg, 'API_KEY', { api_key: S.openaiKey });
  ids.twilio = await account(ids.twilioCfg, 'BASIC', { username: TWILIO_USER, password: S.twilioPassword });
  ids.zendesk = await account(ids.zendeskCfg, 'BASIC', { subdomain: 'acme', username: ZENDESK_USER, password: S.zendeskPassword });
  await patch(`/auth_configs/${ids.githubCfg}`, { type: 'custom', credentials: { client_secret: S.clientSecret2 } }).expect(200);
  const file = await proxiedFile(ctx, FILE);
  ids.file = file.id;

  // The values really are stored and usable: the checks below are not vacuous.
  const got = await get(`/connected_accounts/${ids.linearRotated}`).expect(200);
  expect((got.body as { state: { val: { api_key: string } } }).state.val.api_key).toBe(S.linearKey2);
  const ap = await get(`/connected_accounts/${ids.twilio}/auth_params`).expect(200);
  expect(ap.text).toContain(Buffer.from(`${TWILIO_USER}:${S.twilioPassword}`).toString('base64'));
  const got2 = await download(ctx, file.path);
  expect(got2.status).toBe(200);
  expect(got2.bytes).toEqual(FILE);
});

describe('the database', () => {
  it('holds no secret value, nor its base64, in any table', async () => {
    const tables = await ctx.db.$queryRawUnsafe<{ tablename: string }[]>(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`);
    const names = tables.map((t) => t.tablename);
    expect(names).toEqual(expect.arrayContaining(['projects', 'api_keys', 'auth_configs', 'connected_accounts']));
    let all = '';
    for (const name of names) {
      const rows = await ctx.db.$queryRawUnsafe<Record<string, unknown>[]>(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
      const text = dump(rows);
      expectNoSecret(text, `table ${name}`);
      all += text;
    }
    // Sanity: the rows we made are in the dump, and the credentials columns are sealed values.
    for (const id of Object.values(ids)) expect(all).toContain(id);
    const acc = await ctx.db.connectedAccount.findUnique({ where: { id: ids.linear } });
    expect(acc!.state).toMatch(/^lk1\./);
    expect(acc!.secretKeys).toEqual(['api_key']);
    const cfg = await ctx.db.authConfig.findUnique({ where: { id: ids.githubCfg } });
    expect(cfg!.credentials).toMatch(/^lk1\./);
    expect(cfg!.credentials).not.toContain('visible-client-id');
    // The proxy's file: its body sealed, no plaintext column filled.
    const file = await ctx.db.proxyFile.findUnique({ where: { id: ids.file } });
    expect(file!.sealedBytes).toMatch(/^lk1\./);
    expect(file!.legacyBytes).toBeNull();
    expect(file!.size).toBe(FILE.length);
    // The API key of the project is not stored in clear either.
    expectNoSecret(ctx.apiKey, 'sanity');
    expect(all).not.toContain(ctx.apiKey);
  });
});

describe('a sealed value copied to another row', () => {
  it("does not open there: GET of the second account fails in the envelope without leaking the first's secret", async () => {
    const victimKey = `lin_api_VICTIM${tag}Gg45`;
    const intruder = await account(ids.openaiCfg!, 'API_KEY', { api_key: `sk-proj-INTRUDER${tag}` }, 'intruder');
    const victim = await account(ids.linearCfg!, 'API_KEY', { api_key: victimKey }, 'victim');
    const n = await ctx.db.$executeRawUnsafe(`UPDATE connected_accounts SET state = (SELECT state FROM connected_accounts WHERE id = $1) WHERE id = $2`, victim, intruder);
    expect(n).toBe(1);

    const checks: [string, Res][] = [
      ['GET', await get(`/connected_accounts/${intruder}`)],
      ['AUTH_PARAMS', await get(`/connected_accounts/${intruder}/auth_params`)],
      ['PATCH credentials', await patch(`/connected_accounts/${intruder}`, { connection: { state: { authScheme: 'API_KEY', val: { note: 'x' } } } })],
    ];
    for (const [label, res] of checks) {
      expect(res.status, `${label}: ${res.text}`).not.toBe(200);
      expect(res.status, label).toBeGreaterThanOrEqual(400);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      const e = (res.body as Envelope).error;
      expect(e.status, label).toBe(res.status);
      expect(e.request_id).toBe(res.headers['x-request-id']);
      for (const secret of [victimKey, Buffer.from(victimKey).toString('base64'), `sk-proj-INTRUDER${tag}`]) expect(res.text, label).not.toContain(secret);
      expect(res.text).not.toMatch(/DecryptError|sealed|stack|lk1\./);
      errorBodies.push({ label: `copied state ${label}`, text: res.text });
    }
    // A row that cannot be opened is the server's fault, not the client's: 500 with its own slug.
    expect(checks[0]![1].status).toBe(500);
    expect((checks[0]![1].body as Envelope).error.slug).toBe('Storage_Unreadable');
    // A list keeps working: the row is listed without credentials, saying why.
    const list = await get(`/connected_accounts?connected_account_ids=${intruder},${victim}`).expect(200);
    const items = (list.body as { items: { id: string; status_reason: string | null; state: { val: Record<string, unknown> } }[] }).items;
    const bad = items.find((i) => i.id === intruder)!;
    expect(JSON.stringify(bad)).not.toContain(victimKey);
    expect(bad.status_reason).toBe('Stored credentials could not be decrypted');
    expect(Object.keys(bad.state.val)).toEqual(['status']);
    expect(items.find((i) => i.id === victim)!.state.val.api_key).toBe(victimKey);
    // The victim is unaffected.
    const v = await get(`/connected_accounts/${victim}`).expect(200);
    expect((v.body as { state: { val: { api_key: string } } }).state.val.api_key).toBe(victimKey);
    // Nothing leaked to the logs either.
    expect(ctx.logs()).not.toContain(victimKey);
    // Put the row out of the way so other lists keep working.
    await ctx.db.connectedAccount.update({ where: { id: intruder }, data: { deletedAt: new Date() } });
  });

  it("the same holds for an auth config's sealed credentials", async () => {
    const other = await config('github', { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_id: 'other', client_secret: `ghcs_OTHER${tag}` } });
    await ctx.db.$executeRawUnsafe(`UPDATE auth_configs SET credentials = (SELECT credentials FROM auth_configs WHERE id = $1) WHERE id = $2`, ids.githubCfg, other);
    const res = await get(`/auth_configs/${other}`);
    expect(res.status, res.text).toBeGreaterThanOrEqual(400);
    expect((res.body as Envelope).error.status).toBe(res.status);
    expectNoSecret(res.text, 'GET of the auth config with copied credentials');
    expect(res.text).not.toContain(`ghcs_OTHER${tag}`);
    errorBodies.push({ label: 'copied credentials GET', text: res.text });
    await ctx.db.authConfig.update({ where: { id: other }, data: { deletedAt: new Date() } });
  });
});

describe('error responses and logs', () => {
  it('never echo a secret back in an error body', async () => {
    const hostile: [string, () => Promise<Res>][] = [
      ['hostile subdomain', () => post('/connected_accounts', { auth_config: { id: ids.zendeskCfg }, connection: { state: { authScheme: 'BASIC', val: { status: 'ACTIVE', subdomain: `evil.com/${S.errorKey}`, username: 'u', password: S.errorKey } } } })],
      ['wrong scheme', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'BEARER_TOKEN', val: { status: 'ACTIVE', token: S.errorKey } } } })],
      ['bad field name', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: S.errorKey, 'bad name!': S.errorKey } } } })],
      ['object as a value', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: { nested: S.errorKey } } } } })],
      ['number for a string field', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 42, other_secret: S.errorKey } } } })],
      ['value too long', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: S.errorKey + 'x'.repeat(20_001) } } } })],
      ['unknown auth config', () => post('/connected_accounts', { auth_config: { id: 'ac_doesNotExist1' }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: S.errorKey } } } })],
      ['invalid user id', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { user_id: '', state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: S.errorKey } } } })],
      ['malformed JSON', () => ctx.http.post(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey).set('content-type', 'application/json').send(`{"api_key":"${S.errorKey}",`)],
      ['wrong media type', () => ctx.http.post(`${V}/connected_accounts`).set('x-api-key', ctx.apiKey).set('content-type', 'text/plain').send(`api_key=${S.errorKey}`)],
      ['body too large', () => post('/connected_accounts', { auth_config: { id: ids.linearCfg }, connection: { state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: S.errorKey, pad: 'p'.repeat(70_000) } } } })],
      ['remove a required field', () => patch(`/connected_accounts/${ids.linear}`, { connection: { state: { authScheme: 'API_KEY', val: { api_key: null, other_secret: S.errorKey } } } })],
      ['patch wrong scheme', () => patch(`/connected_accounts/${ids.linear}`, { connection: { state: { authScheme: 'BASIC', val: { password: S.errorKey } } } })],
      ['missing client_id', () => post('/auth_configs', { toolkit: { slug: 'github' }, auth_config: { type: 'use_custom_auth', authScheme: 'OAUTH2', credentials: { client_secret: S.errorSecret } } })],
      ['scheme the toolkit lacks', () => post('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'BASIC', credentials: { password: S.errorSecret } } })],
      ['patch type mismatch', () => patch(`/auth_configs/${ids.githubCfg}`, { type: 'default', scopes: S.errorSecret })],
      ['bad credential key', () => patch(`/auth_configs/${ids.githubCfg}`, { type: 'custom', credentials: { 'bad key!': S.errorSecret } })],
      ['secret as a cursor', () => get(`/connected_accounts?cursor=${S.errorKey}`)],
      ['secret as an id', () => get(`/connected_accounts/ca_${S.errorKey.replace(/[^A-Za-z0-9]/g, '')}`)],
      ['secret as an API key', () => ctx.http.get(`${V}/connected_accounts`).set('x-api-key', S.errorKey)],
    ];
    for (const [label, send] of hostile) {
      const res = await send();
      keepError(label, res);
      expect((res.body as Envelope).error, label).toBeDefined();
      expect(res.text, label).not.toContain(S.errorKey);
      expect(res.text, label).not.toContain(S.errorSecret);
    }
    for (const { label, text } of errorBodies) expectNoSecret(text, `error body: ${label}`);
  });

  it('keep secrets out of the logs', async () => {
    // Success paths that handle secrets, logged at trace level.
    await get(`/connected_accounts/${ids.linear}`).expect(200);
    await get(`/connected_accounts/${ids.zendesk}/auth_params`).expect(200);
    await get(`/auth_configs/${ids.githubCfg}`).expect(200);
    await get('/connected_accounts?limit=100').expect(200);
    const logs = ctx.logs();
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).toContain(ids.linear);
    expectNoSecret(logs, 'the logs');
    expect(logs).not.toContain(ctx.apiKey);
  });
});
