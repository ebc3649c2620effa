/**
 * `npm run bench:wal`: what one create costs the database's write-ahead log and its throughput, with
 * the previous outbox trigger and the current one (the last two migrations that define it,
 * bench/triggers.ts), in one run. WAL bytes do not depend on how busy the machine is, unlike req/s.
 * The outbox holds BENCH_EVENTS [1000000] delivered events first (a week of a busy installation), so
 * its indexes are larger than the pages one run touches; each round starts right after a CHECKPOINT,
 * as every page does once per checkpoint interval in production. Creates go through the real app
 * (`app.inject`: validation, sealing, the audit record, the trigger), BENCH_CREATES [4000] a round,
 * one at a time. Then, with wrk, creates at BENCH_CONNECTIONS [50] for BENCH_LOAD_S [8] s a run, the
 * two triggers in the order current, previous, previous, current (so neither always goes first):
 * req/s and WAL a create under load.
 */
import os from 'node:os';
import pg from 'pg';
import { openBenchApp, runBench } from './harness.js';
import { newLinearApiKey } from './seed.js';
import { currentOutboxTrigger, previousOutboxTrigger } from './triggers.js';
import { randomBytes } from 'node:crypto';
import { findWrk, startWrkRunner } from './wrk.js';

const log = (m: string) => process.stdout.write(`[bench:wal] ${m}\n`);
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

async function main() {
  const events = num('BENCH_EVENTS', 1_000_000);
  const creates = num('BENCH_CREATES', 4_000);
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const bench = await openBenchApp(log, { poolSize: 4 });
  const { app, url } = bench;
  const pool = new pg.Pool({ connectionString: bench.db.url, max: 1 });
  try {
    const { project, apiKey } = await app.services.projects.createProject('bench');
    const headers = { 'x-api-key': apiKey, 'content-type': 'application/json' };
    const ac = await app.inject({ method: 'POST', url: '/api/v3.1/auth_configs', headers, payload: { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear' } } });
    const authConfigId = (ac.json() as { auth_config: { id: string } }).auth_config.id;
    await pool.query(
      `INSERT INTO webhook_events (id, project_id, account_id, type, snapshot, dispatched_at)
       SELECT 'msg_' || gen_random_uuid(), $1, 'ca_old' || g, 'composio.connected_account.created', '{}', now() FROM generate_series(1, $2::int) g`,
      [project.id, events],
    );
    await pool.query('VACUUM (ANALYZE) webhook_events');
    log(`outbox filled with ${events.toLocaleString('en-US')} delivered events`);
    let n = 0;
    const round = async (label: string, trigger: string) => {
      await pool.query(trigger);
      await pool.query('CHECKPOINT');
      const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const started = performance.now();
      for (let i = 0; i < creates; i++) {
        const res = await app.inject({
          method: 'POST',
          url: '/api/v3.1/connected_accounts',
          headers,
          payload: { auth_config: { id: authConfigId }, connection: { user_id: `wal_${n++}`, state: { authScheme: 'API_KEY', val: { api_key: newLinearApiKey() } } } },
        });
        if (res.statusCode !== 201) throw new Error(`create answered ${res.statusCode}: ${res.body}`);
      }
      const ms = performance.now() - started;
      const wal = Number((await pool.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS d', [rows[0]!.lsn])).rows[0]!.d);
      log(`${label.padEnd(36)} ${(wal / creates / 1024).toFixed(1)} KB of WAL a create; ${((ms * 1000) / creates).toFixed(0)} µs a create, one at a time`);
    };
    for (let r = 0; r < 2; r++) {
      await round('previous trigger', previousOutboxTrigger());
      await round('current trigger', currentOutboxTrigger());
    }
    const wrkPath = findWrk();
    const loadS = num('BENCH_LOAD_S', 8);
    if (wrkPath && loadS > 0) {
      const load = startWrkRunner(wrkPath);
      try {
        const runs: [string, string][] = [
          ['current', currentOutboxTrigger()],
          ['previous', previousOutboxTrigger()],
          ['previous', previousOutboxTrigger()],
          ['current', currentOutboxTrigger()],
        ];
        for (const [label, trigger] of runs) {
          await pool.query(trigger);
          await pool.query('CHECKPOINT');
          const { rows } = await pool.query<{ lsn: string; n: string }>('SELECT pg_current_wal_lsn()::text AS lsn, (SELECT count(*) FROM connected_accounts)::text AS n');
          const r = await load.run({
            title: `creates, ${label} trigger`,
            url,
            headers: { 'x-api-key': apiKey },
            connections: num('BENCH_CONNECTIONS', 50),
            durationS: loadS,
            warmupS: 1,
            target: { kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: randomBytes(3).toString('hex') },
          });
          const after = await pool.query<{ d: string; n: string }>(
            'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::text AS d, (SELECT count(*) FROM connected_accounts)::text AS n',
            [rows[0]!.lsn],
          );
          const made = Number(after.rows[0]!.n) - Number(rows[0]!.n);
          log(`under load, ${label.padEnd(8)} trigger: ${Math.round(r.rps)} creates/s, ${(Number(after.rows[0]!.d) / made / 1024).toFixed(1)} KB of WAL a create (${made.toLocaleString('en-US')} creates)`);
        }
      } finally {
        load.close();
      }
    }
  } finally {
    await pool.end();
    await bench.close();
  }
}

runBench('bench:wal', main);
