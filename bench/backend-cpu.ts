/**
 * The database's share of a measurement: CPU time of the bench database's client backends, read from
 * /proc (Linux, with the server on this machine), so a figure per request or per event can count
 * PostgreSQL's work as well as this process's.
 */
import { readFileSync } from 'node:fs';
import type pg from 'pg';

/** CPU seconds of the database's client backends, sampled every 200 ms while it runs. */
export function backendCpu(pool: pg.Pool, dbName: string) {
  const ticks = (pid: number) => {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return Number(f[11]) + Number(f[12]);
    } catch {
      return null;
    }
  };
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let fresh = false; // backends that appear after start count from 0
  const sample = async () => {
    const { rows } = await pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'`, [dbName]);
    for (const { pid } of rows) {
      const t = ticks(pid);
      if (t === null) continue;
      if (!first.has(pid)) first.set(pid, fresh ? 0 : t);
      last.set(pid, t);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  return {
    async start() {
      await sample();
      fresh = true;
      timer = setInterval(() => void sample().catch(() => {}), 200);
    },
    async stop() {
      clearInterval(timer);
      await sample();
      let sum = 0;
      for (const [pid, t] of last) sum += t - first.get(pid)!;
      return sum / 100; // clock ticks at 100 Hz
    },
  };
}
