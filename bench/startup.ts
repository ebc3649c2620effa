/**
 * Start-up time and memory of the real server (as `npm start` runs it; `npm run build` first) on
 * its embedded PostgreSQL, in a temporary data folder: a first (cold) start that creates the
 * database, then a warm start on it, timed from spawn to the first 200 from /readyz. Then the Node
 * process's RSS (the embedded PostgreSQL is its own processes, not counted) idle, and its peak
 * while wrk loads GET /connected_accounts/{id} and a list page.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WrkRunner } from './wrk.js';

export type StartupResult = { coldMs: number; warmMs: number; idleRssMb: number; peakRssMb: number; importMs: number };

const root = fileURLToPath(new URL('..', import.meta.url));

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** VmRSS and VmHWM (peak) of a process, in MiB. */
function rss(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { now: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** `npm start`'s node arguments (its V8 heap settings included): what is measured is what runs. */
function startArgs(): string[] {
  const start = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts.start;
  const [node, ...args] = start.trim().split(/\s+/);
  if (node !== 'node') throw new Error(`npm start is not "node ...": ${start}`);
  return args;
}

async function startServer(dataDir: string, port: number) {
  const t0 = performance.now();
  const child = spawn(process.execPath, startArgs(), {
    cwd: root,
    // The rate limit at its highest: at its default (1,200 a minute) nearly every request of the
    // memory load below was a 429, and the peak measured the rejections, not the work.
    env: { ...process.env, LATCHKEY_DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DATABASE_URL: '', NODE_ENV: 'development', RATE_LIMIT_MAX: '1000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${out.slice(-2000)}`))));
  const ready = (async () => {
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/readyz`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  await Promise.race([ready, exited]);
  return { child, ms: performance.now() - t0, output: () => out };
}

const stopServer = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

export async function measureStartup(load: WrkRunner | null, log: (m: string) => void): Promise<StartupResult> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-start-'));
  let child: ChildProcess | undefined;
  try {
    const port = await freePort();
    const t = performance.now();
    const imp = spawn(process.execPath, ['-e', `import(${JSON.stringify(path.join(root, 'dist/app.js'))}).then(() => process.exit(0))`], { stdio: 'ignore' });
    await new Promise((r) => imp.once('exit', r));
    const importMs = performance.now() - t;
    const cold = await startServer(dataDir, port);
    child = cold.child;
    const apiKey = /x-api-key: (\S+)/.exec(cold.output())?.[1];
    await stopServer(cold.child);
    const warm = await startServer(dataDir, port);
    child = warm.child;
    log(`start-up: cold ${Math.round(cold.ms)} ms, warm ${Math.round(warm.ms)} ms (import of the app alone ${Math.round(importMs)} ms)`);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = rss(warm.child.pid!);
    if (load && apiKey) {
      const url = `http://127.0.0.1:${port}`;
      const headers = { 'x-api-key': apiKey };
      const ac = await fetch(`${url}/api/v3.1/auth_configs`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ toolkit: { slug: 'linear' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', name: 'Linear' } }),
      });
      const authConfigId = ((await ac.json()) as { auth_config: { id: string } }).auth_config.id;
      const spec = { url, headers, connections: 50, durationS: 5, warmupS: 0 };
      const creates = await load.run({ ...spec, title: 'creates (memory)', target: { kind: 'create', path: '/api/v3.1/connected_accounts', authConfigId, runId: 'rss' } });
      const afterCreates = rss(warm.child.pid!);
      const list = await load.run({ ...spec, title: 'list (memory)', target: { kind: 'get', paths: ['/api/v3.1/connected_accounts?limit=50'] } });
      log(`RSS after the creates ${afterCreates.now.toFixed(0)} MB (peak ${afterCreates.peak.toFixed(0)} MB), after the list ${rss(warm.child.pid!).now.toFixed(0)} MB`);
      // What the peak was measured under: answered requests, and any that were not (none expected).
      log(`memory load: ${creates.ok} creates and ${list.ok} list pages answered, ${creates.non2xx + list.non2xx} not 2xx, ${creates.errors + list.errors} socket errors`);
    }
    const after = rss(warm.child.pid!);
    log(`RSS: idle ${idle.now.toFixed(0)} MB, peak ${after.peak.toFixed(0)} MB`);
    return { coldMs: cold.ms, warmMs: warm.ms, idleRssMb: idle.now, peakRssMb: after.peak, importMs };
  } finally {
    if (child) await stopServer(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { findWrk, startWrkRunner } = await import('./wrk.js');
  const wrk = findWrk();
  const load = wrk ? startWrkRunner(wrk) : null;
  try {
    const r = await measureStartup(load, (m) => process.stdout.write(`[bench:startup] ${m}\n`));
    process.stdout.write(`${JSON.stringify(r)}\n`);
  } finally {
    load?.close();
  }
}
