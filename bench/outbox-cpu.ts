/**
 * `npm run bench:outbox`: what one delivered webhook costs, in CPU, measured so that a busy machine
 * does not change the answer (unlike events/s). The real app's dispatcher drains a fixed backlog made
 * by real state changes (accounts disabled, then enabled: the trigger writes the events) to one
 * subscriber on a loopback receiver that runs in a child process (its CPU is not counted). Reported
 * per delivered event: this process's CPU (process.cpuUsage) and the CPU of the database backends
 * that served it (utime + stime from /proc/<pid>/stat of every client backend of the bench database,
 * sampled while it runs). Then, unless BENCH_SUSTAINED_S=0, creates at BENCH_CONNECTIONS connections
 * with pg-boss running the dispatch loop as the server does: delay from change to receiver, p50/p99,
 * and the CPU per create of this process (the app and the dispatcher) and of the backends.
 *
 * Knobs: BENCH_ROWS [20000] accounts, BENCH_BACKLOG [20000] events per drain, BENCH_ROUNDS [2] drains,
 * BENCH_SUSTAINED_S [8], BENCH_CONNECTIONS [20]; CPU_PROFILE=1 writes the first drain's .cpuprofile.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { startJobs } from '../src/jobs/queue.js';
import { openBenchApp, runBench } from './harness.js';
import { backendCpu } from './backend-cpu.js';
import { drain, makeBacklog } from './outbox.js';
import { seedConnectedAccounts, newLinearApiKey } from './seed.js';
import { findWrk, startWrkRunner } from './wrk.js';

const log = (m: string) => process.stdout.write(`[bench:outbox] ${m}\n`);
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

/** A loopback receiver in a child process (answers 204, records each envelope's delay). */
async function childReceiver() {
  const code = `
    const http = require('node:http');
    let received = 0, delays = [], probed = false;
    const server = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        received++;
        try {
          const event = JSON.parse(Buffer.concat(chunks).toString());
          delays.push(Date.now() - Date.parse(event.timestamp));
          if (event.data && event.data.user_id === 'probe') probed = true;
        } catch {}
        res.writeHead(204).end();
      });
    });
    server.keepAliveTimeout = 5000;
    server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
    process.on('message', (m) => {
      if (m === 'reset') { received = 0; delays = []; process.send({ reset: true }); }
      if (m === 'stats') process.send({ received, delays, probed });
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const next = () => new Promise<Record<string, unknown>>((resolve) => child.once('message', (m) => resolve(m as Record<string, unknown>)));
  const { port } = (await next()) as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    async stats() {
      const p = next();
      child.send('stats');
      return (await p) as { received: number; delays: number[]; probed: boolean };
    },
    async reset() {
      const p = next();
      child.send('reset');
      await p;
    },
    close: () => child.kill(),
  };
}


const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

async function main() {
  const rows = num('BENCH_ROWS', 20_000);
  const backlog = num('BENCH_BACKLOG', 20_000);
  const rounds = num('BENCH_ROUNDS', 2);
  const sustainedS = num('BENCH_SUSTAINED_S', 8);
  const connections = num('BENCH_CONNECTIONS', 20);
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const bench = await openBenchApp(log, { config: { WEBHOOKS_ALLOW_PRIVATE_URLS: true } });
  const { app, crypto, db, url: appUrl } = bench;
  const receiver = await childReceiver();
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    const { project, apiKey } = await app.services.projects.createProject('bench');
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(appUrl + path, { method, headers: { 'x-api-key': apiKey, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return (await res.json()) as Record<string, unknown>;
    };
    const ac = await api('POST', '/api/v3.1/auth_configs', { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear' } });
    const authConfigId = (ac.auth_config as { id: string }).id;
    await pool.query('ALTER TABLE connected_accounts DISABLE TRIGGER connected_account_events');
    const seeded = await seedConnectedAccounts({ pool, crypto, projectId: project.id, authConfigId, rows });
    await pool.query('ALTER TABLE connected_accounts ENABLE TRIGGER connected_account_events');
    await pool.query('VACUUM (ANALYZE) connected_accounts');
    const active = seeded.ids.filter((id) => !seeded.inactive.has(id));
    const dispatcher = app.services.webhookDelivery;
    const sub = await api('POST', '/api/v3.1/webhook_subscriptions', {
      webhook_url: receiver.url,
      enabled_events: ['composio.connected_account.disabled', 'composio.connected_account.enabled'],
    });
    const dbName = new URL(db.url).pathname.slice(1);
    const session = process.env.CPU_PROFILE ? new Session() : undefined;
    session?.connect();
    for (let round = 0; round < rounds; round++) {
      const events = await makeBacklog(pool, active, backlog);
      await receiver.reset();
      const pgCpu = backendCpu(pool, dbName);
      if (session && round === 0) {
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      await pgCpu.start();
      const c0 = process.cpuUsage();
      const r = await drain(pool, dispatcher, { deadlineMs: 240_000 });
      const c = process.cpuUsage(c0);
      const dbS = await pgCpu.stop();
      if (session && round === 0) {
        const { profile } = await session.post('Profiler.stop');
        writeFileSync('bench-outbox-drain.cpuprofile', JSON.stringify(profile));
        log('wrote bench-outbox-drain.cpuprofile');
      }
      const { received } = await receiver.stats();
      const nodeMs = (c.user + c.system) / 1000;
      log(
        `drain ${round + 1}: ${received}/${events} delivered in ${r.seconds.toFixed(1)} s (${Math.round(r.perSecond)}/s); ` +
          `per event: node ${((nodeMs * 1000) / received).toFixed(0)} µs, postgres ${((dbS * 1e6) / received).toFixed(0)} µs`,
      );
    }
    await api('DELETE', `/api/v3.1/webhook_subscriptions/${String(sub.id)}`);

    const wrkPath = findWrk();
    if (sustainedS > 0 && wrkPath) {
      await api('POST', '/api/v3.1/webhook_subscriptions', { webhook_url: receiver.url, enabled_events: ['composio.connected_account.created'] });
      const jobs = await startJobs({ databaseUrl: db.url, oauth: app.services.oauth, webhooks: dispatcher, refreshAheadMs: 600_000, log: { info: () => {}, warn: (o, m) => log(`jobs: ${m} ${JSON.stringify(o)}`) } });
      try {
        await api('POST', '/api/v3.1/connected_accounts', { auth_config: { id: authConfigId }, connection: { user_id: 'probe', state: { authScheme: 'API_KEY', val: { api_key: newLinearApiKey() } } } });
        // Until the probe's own event arrived: the receiver's count still held the drains' events, so
        // waiting for "one received" did not wait at all, and the probe's event was counted among the
        // creates' (one delivered more than created).
        const by = performance.now() + 30_000;
        while (!(await receiver.stats()).probed && performance.now() < by) await new Promise((r) => setTimeout(r, 50));
        await receiver.reset();
        const count = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM connected_accounts')).rows[0]!.n);
        const before = await count();
        const load = startWrkRunner(wrkPath);
        const pgCpu = backendCpu(pool, dbName);
        await pgCpu.start();
        const c0 = process.cpuUsage();
        const run = await load.run({
          title: 'creates, webhooks on',
          url: appUrl,
          headers: { 'x-api-key': apiKey },
          connections,
          durationS: sustainedS,
          warmupS: 0,
          target: { kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: randomBytes(3).toString('hex') },
        });
        load.close();
        let after = await count();
        for (let i = 0; i < 50; i++) {
          await new Promise((r) => setTimeout(r, 300));
          const n = await count();
          if (n === after) break;
          after = n;
        }
        const settleBy = performance.now() + 60_000;
        let st = await receiver.stats();
        while (st.received < after - before && performance.now() < settleBy) {
          await new Promise((r) => setTimeout(r, 200));
          st = await receiver.stats();
        }
        // Until the last event was delivered: the dispatcher's tail belongs to the creates.
        const c = process.cpuUsage(c0);
        const dbS = await pgCpu.stop();
        const d = st.delays.sort((a, b) => a - b);
        log(
          `sustained: ${Math.round(run.rps)} creates/s at ${connections} connections for ${sustainedS} s, ${st.received}/${after - before} delivered, ` +
            `delay p50 ${pct(d, 50)} ms, p99 ${pct(d, 99)} ms, max ${d[d.length - 1]} ms; ` +
            `per create (the app and the dispatcher): node ${((c.user + c.system) / (after - before)).toFixed(0)} µs, postgres ${((dbS * 1e6) / (after - before)).toFixed(0)} µs; ` +
            `load average ${os.loadavg()[0]!.toFixed(2)}`,
        );
      } finally {
        await jobs.stop();
      }
    }
  } finally {
    receiver.close();
    await pool.end();
    await bench.close();
  }
}

runBench('bench:outbox', main);
