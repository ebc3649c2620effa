/**
 * The audit log's cost on the read path: `GET /api/v3.1/connected_accounts/{id}` with a key that
 * sees credentials (each read queues an audit record, written in batches) against the same read
 * with a masked key (no record). Also how long the buffer takes to write what the run queued.
 * Loopback only; BENCH_DURATION_S per target (default 5). `npm run bench:audit`. The load comes from
 * wrk (bench/wrk.ts), as in `npm run bench`; each row also shows the server CPU per request, which
 * does not depend on how busy the machine is.
 * Uses BENCH_DATABASE_URL's server when set, otherwise an embedded PostgreSQL (bench/database.ts).
 */
import { openBenchApp, runBench } from './harness.js';
import { clientBound } from './report.js';
import { findWrk, startWrkRunner } from './wrk.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const log = (m: string) => process.stderr.write(`${m}\n`);

async function main() {
  const bench = await openBenchApp(log);
  const { app, clients, url: appUrl } = bench;
  try {
    const { project, apiKey } = await app.services.projects.createProject('bench-audit');
    const masked = await app.services.projects.createKey(project.id, 'masked', { masked: true });
    const call = async (path: string, body: object) => {
      const res = await fetch(`${appUrl}/api/v3.1${path}`, { method: 'POST', headers: { 'x-api-key': apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const cfg = await call('/auth_configs', { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } });
    const acc = await call('/connected_accounts', { auth_config: { id: cfg.auth_config.id }, connection: { state: { authScheme: 'API_KEY', val: { api_key: 'lin_api_bench' } } } });
    const path = `/api/v3.1/connected_accounts/${acc.id}`;
    const count = async () => Number((await clients.pool.query('SELECT count(*) FROM audit_logs')).rows[0].count);
    const wrkPath = findWrk();
    if (!wrkPath) throw new Error('bench:audit needs wrk (Debian: apt-get install wrk)');
    const load = startWrkRunner(wrkPath);

    const run = async (name: string, key: string, connections: number) => {
      const r = await load.run({ title: name, url: appUrl, headers: { 'x-api-key': key }, connections, durationS: DURATION_S, warmupS: 1, target: { kind: 'get', paths: [path] } });
      return { name, connections, r };
    };
    const before = await count();
    // Alternating, twice over, so that a busy machine's drift shows instead of favouring one side.
    const results = [];
    try {
      for (const connections of [CONNECTIONS, CONNECTIONS, 1]) {
        results.push(await run('masked key (no audit record)', masked.apiKey, connections));
        results.push(await run('plain key (one audit record per read)', apiKey, connections));
      }
    } finally {
      load.close();
    }
    const started = Date.now();
    await app.services.audit.flush();
    const flushMs = Date.now() - started;
    const recorded = (await count()) - before;
    log(`${DURATION_S} s per row (after 1 s of warm-up, whose reads are recorded too), wrk`);
    log('| connections | read | p50 ms | p99 ms | req/s | server CPU ms per request | CPU wrk / server | errors |');
    log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { name, connections, r } of results) {
      const cpu = `${r.clientCpu.toFixed(2)} / ${r.serverCpu.toFixed(2)}${clientBound(r) ? ' client-bound' : ''}`;
      log(`| ${connections} | ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${Math.round(r.rps)} | ${((r.serverCpu / Math.max(1, r.rps)) * 1000).toFixed(3)} | ${cpu} | ${r.total - r.ok + r.errors} |`);
    }
    const audited = results.filter((x) => x.name.startsWith('plain')).reduce((n, x) => n + x.r.ok, 0);
    log(`audit records written: ${recorded} for ${audited} plain-key reads in the measured windows (the warm-ups' reads are recorded as well); the last flush took ${flushMs} ms`);
  } finally {
    await bench.close();
  }
}

runBench('bench:audit', main, { watchdogMs: 180_000 });
