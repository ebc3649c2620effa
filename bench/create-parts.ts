/**
 * `npm run bench:create`: what the create's gap to the bare INSERT is made of. Creates through the
 * real app against the write reference (bench/ceiling.ts), with the schema as shipped and with two
 * of its costs taken away on the benchmark's own database:
 * - the two foreign keys of connected_accounts (project, auth config): each create takes a KEY SHARE
 *   lock on the same project and auth-config rows, which under concurrent creates become multixacts;
 * - the second outbox event of a create (`created` and `activated` are two rows of webhook_events):
 *   the trigger writes the first kind only.
 * Neither variant is a product change (no webhook would say "activated"; nothing stops a hard delete
 * orphaning accounts): they measure what each would buy. wrk at BENCH_CONNECTIONS [50], BENCH_CREATE_S
 * [10] s a variant in BENCH_SLICES [5] interleaved turns (the schema swapped before each turn).
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import pg from 'pg';
import { startCeiling } from './ceiling.js';
import { openBenchApp, runBench } from './harness.js';
import type { LoadSpec } from './load-types.js';
import { findWrk, startWrkRunner } from './wrk.js';

const log = (m: string) => process.stdout.write(`[bench:create] ${m}\n`);
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

const FOREIGN_KEYS = {
  drop: [
    'ALTER TABLE connected_accounts DROP CONSTRAINT IF EXISTS connected_accounts_project_id_fkey',
    'ALTER TABLE connected_accounts DROP CONSTRAINT IF EXISTS connected_accounts_auth_config_id_fkey',
  ],
  // As the migrations define them.
  add: [
    'ALTER TABLE connected_accounts ADD CONSTRAINT connected_accounts_project_id_fkey FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE ON UPDATE CASCADE',
    'ALTER TABLE connected_accounts ADD CONSTRAINT connected_accounts_auth_config_id_fkey FOREIGN KEY (auth_config_id) REFERENCES auth_configs(id) ON DELETE CASCADE ON UPDATE CASCADE',
  ],
};

async function main() {
  const wrkPath = findWrk();
  if (!wrkPath) throw new Error('wrk is needed (Debian: apt-get install wrk)');
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const bench = await openBenchApp(log);
  const { app, crypto, url: appUrl } = bench;
  const pool = new pg.Pool({ connectionString: bench.db.url, max: 2 });
  const load = startWrkRunner(wrkPath);
  try {
    const { project, apiKey } = await app.services.projects.createProject('bench');
    const ac = await app.inject({
      method: 'POST',
      url: '/api/v3.1/auth_configs',
      headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
      payload: { toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear' } },
    });
    const authConfigId = (ac.json() as { auth_config: { id: string } }).auth_config.id;
    await pool.query('CREATE TABLE bench_insert_reference (LIKE connected_accounts INCLUDING ALL)');
    const ceiling = await startCeiling(bench.db.url, { projectId: project.id, crypto, insertInto: 'bench_insert_reference' });

    const shipped = (await pool.query<{ d: string }>("SELECT pg_get_functiondef('latchkey_connected_account_events'::regproc) AS d")).rows[0]!.d;
    const oneEvent = shipped.replace('unnest(kinds) WITH ORDINALITY', 'unnest(kinds[1:1]) WITH ORDINALITY');
    if (oneEvent === shipped) throw new Error('the outbox trigger no longer has the shape this benchmark edits');
    const schema = (foreignKeys: boolean, trigger: string) => async () => {
      for (const sql of foreignKeys ? FOREIGN_KEYS.add : FOREIGN_KEYS.drop) await pool.query(sql).catch(() => {}); // adding one that exists fails harmlessly
      await pool.query(trigger);
    };
    const connections = num('BENCH_CONNECTIONS', 50);
    const spec = (title: string, url: string, path: string, headers: Record<string, string>): LoadSpec => ({
      title,
      url,
      headers,
      connections,
      durationS: num('BENCH_CREATE_S', 10),
      warmupS: 2,
      target: { kind: 'create', path, authConfigId, runId: randomBytes(3).toString('hex') },
    });
    const h = { 'x-api-key': apiKey };
    const path = '/api/v3.1/connected_accounts';
    const runs = await load.interleaved(
      [
        { ...spec('reference: seal + one INSERT', ceiling.url, ceiling.createPath, {}) },
        { ...spec('create, as shipped', appUrl, path, h), before: schema(true, shipped) },
        { ...spec('create, one event a create', appUrl, path, h), before: schema(true, oneEvent) },
        { ...spec('create, no foreign keys', appUrl, path, h), before: schema(false, shipped) },
        { ...spec('create, neither', appUrl, path, h), before: schema(false, oneEvent) },
      ],
      num('BENCH_SLICES', 5),
    );
    await schema(true, shipped)();
    const ref = runs[0]!;
    process.stdout.write('\n| run | req/s | vs reference | turn by turn | CPU wrk / servers / machine |\n| --- | ---: | ---: | --- | ---: |\n');
    for (const r of runs) {
      const turns = r.sliceRps.map((x, i) => (x / ref.sliceRps[i]!).toFixed(2)).join(' ');
      const cpu = `${r.clientCpu.toFixed(2)} / ${r.serverCpu.toFixed(2)} / ${Math.round(r.machineBusy * 100)}%`;
      process.stdout.write(`| ${r.title} | ${Math.round(r.rps).toLocaleString('en-US')} | ${(r.rps / ref.rps).toFixed(2)}× | ${turns} | ${cpu} |\n`);
    }
    await ceiling.close();
  } finally {
    load.close();
    await pool.end();
    await bench.close();
  }
}

runBench('bench:create', main);
