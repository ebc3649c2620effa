/**
 * `npm run bench:cpu`: server CPU per request, one request at a time — a measure that does not
 * depend on how busy the machine is (unlike req/s), so it is what optimisations of the request path
 * are judged by. The real app and the bare ceiling run in this process; wrk (1 connection, 1 thread)
 * drives each endpoint for BENCH_CPU_S seconds and this process's CPU time is divided by the
 * requests served; beside it, the CPU of the database's backends per request (bench/backend-cpu.ts:
 * Linux, server on this machine). With CPU_PROFILE=1 each endpoint's run is also written as a .cpuprofile.
 * BENCH_CPU_CONNECTIONS (default 1) loads it with more connections, to see what concurrency adds
 * (garbage collection of many requests' objects at once, batched socket writes).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import pg from 'pg';
import { startCeiling } from './ceiling.js';
import { openBenchApp, runBench } from './harness.js';
import type { LoadSpec, LoadTarget } from './load-types.js';
import { findWrk, startWrkRunner } from './wrk.js';
import { seedConnectedAccounts } from './seed.js';
import { backendCpu } from './backend-cpu.js';

export type CpuRow = { label: string; cpuMsPerRequest: number; rps: number; dbMsPerRequest?: number };

/** The database's CPU over a run (bench/backend-cpu.ts), and what to wait for before it stops counting. */
export type DbCpu = { sampler: () => ReturnType<typeof backendCpu>; settle: () => Promise<unknown> };

const log = (m: string) => process.stdout.write(`[bench:cpu] ${m}\n`);

/** Server CPU milliseconds per request for each target, one connection, `seconds` each. */
export async function cpuPerRequest(
  wrkPath: string,
  targets: { label: string; url: string; headers: Record<string, string>; target: LoadTarget }[],
  seconds: number,
  profile?: (label: string) => Promise<() => Promise<void>>,
  connections = 1,
  db?: DbCpu,
): Promise<CpuRow[]> {
  const load = startWrkRunner(wrkPath, { threads: 1 });
  const out: CpuRow[] = [];
  try {
    for (const t of targets) {
      const spec: LoadSpec = { title: t.label, url: t.url, headers: t.headers, connections, durationS: seconds, warmupS: 1, target: t.target };
      const stop = profile ? await profile(t.label) : undefined;
      const dbCpu = db?.sampler();
      await dbCpu?.start();
      const r = await load.run(spec);
      await stop?.();
      // The database's share includes what the run left to write (the audit log's buffered records);
      // requests are counted over the warm-up too, which ran at the same rate.
      await db?.settle();
      const dbS = dbCpu ? await dbCpu.stop() : undefined;
      out.push({
        label: t.label,
        cpuMsPerRequest: (r.serverCpu / Math.max(1, r.rps)) * 1000,
        rps: r.rps,
        ...(dbS === undefined ? {} : { dbMsPerRequest: (dbS * 1000) / Math.max(1, r.rps * (spec.warmupS + seconds)) }),
      });
    }
  } finally {
    load.close();
  }
  return out;
}

async function main() {
  const wrkPath = findWrk();
  if (!wrkPath) throw new Error('wrk is not installed');
  const rows = Number(process.env.BENCH_ROWS ?? 20_000);
  const seconds = Number(process.env.BENCH_CPU_S ?? 5);
  const bench = await openBenchApp(log);
  const { app, crypto, db, url: appUrl } = bench;
  try {
    const { project, apiKey } = await app.services.projects.createProject('bench');
    const ac = await fetch(`${appUrl}/api/v3.1/auth_configs`, {
      method: 'POST',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      body: JSON.stringify({ toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear' } }),
    });
    const authConfigId = ((await ac.json()) as { auth_config: { id: string } }).auth_config.id;
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    await pool.query('ALTER TABLE connected_accounts DISABLE TRIGGER connected_account_events');
    const seeded = await seedConnectedAccounts({ pool, crypto, projectId: project.id, authConfigId, rows });
    await pool.query('ALTER TABLE connected_accounts ENABLE TRIGGER connected_account_events');
    await pool.query('VACUUM (ANALYZE) connected_accounts');
    await pool.query('CREATE TABLE bench_insert_reference (LIKE connected_accounts INCLUDING ALL)');
    log(`${rows} rows seeded`);
    // A cursor halfway down.
    let cursor = '';
    for (let seen = 0; seen < rows / 2; seen += 1000) {
      const r = await fetch(`${appUrl}/api/v3.1/connected_accounts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: { 'x-api-key': apiKey } });
      cursor = ((await r.json()) as { next_cursor: string }).next_cursor;
    }
    const ceiling = await startCeiling(db.url, { projectId: project.id, crypto, insertInto: 'bench_insert_reference' });
    const h = { 'x-api-key': apiKey };
    const ids = seeded.ids.slice(0, 5000);
    const session = process.env.CPU_PROFILE ? new Session() : undefined;
    session?.connect();
    const profile = session
      ? async (label: string) => {
          await session.post('Profiler.enable');
          await session.post('Profiler.start');
          return async () => {
            const { profile: p } = await session.post('Profiler.stop');
            const file = `bench-${label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`;
            writeFileSync(file, JSON.stringify(p));
            log(`wrote ${file}`);
          };
        }
      : undefined;
    const only = process.env.BENCH_CPU_ONLY;
    const targets = [
      { label: 'ceiling: GET one row', url: ceiling.url, headers: {}, target: { kind: 'get', paths: ids.map(ceiling.path) } as LoadTarget },
      { label: 'GET /connected_accounts/{id}', url: appUrl, headers: h, target: { kind: 'get', paths: ids.map((id) => `/api/v3.1/connected_accounts/${id}`) } as LoadTarget },
      { label: 'list limit=50, first page', url: appUrl, headers: h, target: { kind: 'get', paths: ['/api/v3.1/connected_accounts?limit=50'] } as LoadTarget },
      { label: 'list limit=50, deep page', url: appUrl, headers: h, target: { kind: 'get', paths: [`/api/v3.1/connected_accounts?limit=50&cursor=${cursor}`] } as LoadTarget },
      { label: 'reference: seal + INSERT', url: ceiling.url, headers: {}, target: { kind: 'create', path: ceiling.createPath, authConfigId, runId: 'ref' } as LoadTarget },
      { label: 'POST /connected_accounts', url: appUrl, headers: h, target: { kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: randomBytes(3).toString('hex') } as LoadTarget },
    ].filter((t) => !only || t.label.includes(only));
    const connections = Number(process.env.BENCH_CPU_CONNECTIONS ?? 1);
    const dbName = new URL(db.url).pathname.slice(1);
    const result = await cpuPerRequest(wrkPath, targets, seconds, profile, connections, {
      sampler: () => backendCpu(pool, dbName),
      settle: () => app.services.audit.flush(),
    });
    for (const r of result) {
      const dbMs = r.dbMsPerRequest === undefined ? '' : `, database ${r.dbMsPerRequest.toFixed(3)} ms`;
      log(`${r.label.padEnd(32)} ${r.cpuMsPerRequest.toFixed(3)} ms CPU/request${dbMs} (${Math.round(r.rps)} req/s at c=${connections})`);
    }
    await ceiling.close();
    await pool.end();
  } finally {
    await bench.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) runBench('bench:cpu', main);
