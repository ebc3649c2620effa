/**
 * The load generator: wrk (native, multi-threaded, event-driven), so that it can saturate even the
 * bare ceiling on a small machine; a Node.js generator (autocannon) could not, and held the ceiling
 * back to about its own speed, which flattered every ratio. A Lua script rotates GET paths over a
 * file of paths or builds a distinct POST body per request, and reports its percentiles as JSON.
 *
 * Each run also samples the CPU time wrk used (from /proc) and the CPU time this process (where the
 * servers run) used over the same window: a generator using about as much CPU as the server it loads
 * is the bottleneck, and the report says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LoadResult, LoadSpec } from './load-types.js';

export type WrkResult = LoadResult & {
  /** CPU seconds per second used by wrk and by the bench process (the servers) while measuring. */
  clientCpu: number;
  serverCpu: number;
  /**
   * The share of the machine's CPU time (all cores, every process) that was busy while measuring. A
   * reference that leaves the machine idle is not limited by CPU, and a ratio to it says little.
   */
  machineBusy: number;
};

/** Busy and total CPU time of the whole machine since boot, in clock ticks (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // user … steal (guest time is already in user)
  return { busy: total - f[3]! - f[4]!, total }; // minus idle and iowait
}

/** A run measured in slices interleaved with other runs: its slices' req/s, in turn order. */
export type InterleavedResult = WrkResult & { sliceRps: number[] };

export type WrkRunner = {
  run: (spec: LoadSpec) => Promise<WrkResult>;
  /**
   * The specs measured turn by turn (A B, B A, A B, …), each for durationS/slices seconds a turn, so
   * that a machine whose speed drifts during the run slows them alike. `before` runs before each of
   * a spec's turns (and its warm-up).
   */
  interleaved: (specs: (LoadSpec & { before?: () => Promise<unknown> })[], slices: number) => Promise<InterleavedResult[]>;
  close: () => void;
};

/** What one wrk run reported. */
type Slice = {
  requests: number;
  durationS: number;
  status: number;
  socketErrors: number;
  timeouts: number;
  max: number;
  /** wrk's own p50, p90 and p99 (µs). */
  exact: [number, number, number];
  /** Latency in µs at each point of QUANTILE_GRID. */
  q: number[];
  /** CPU seconds wrk and this process used over the `sampledS` seconds sampled. */
  clientCpuS: number;
  serverCpuS: number;
  machineBusy: number;
  sampledS: number;
};

/** The latency (µs) below which a fraction `f` of all slices' requests fell, each slice's grid points weighted by its requests. */
export function mergedQuantile(slices: { requests: number; q: number[] }[], f: number): number {
  const points: { v: number; w: number }[] = [];
  for (const s of slices) {
    for (let k = 0; k < QUANTILE_GRID.length; k++) {
      const lo = k === 0 ? 0 : (QUANTILE_GRID[k - 1]! + QUANTILE_GRID[k]!) / 2;
      const hi = k === QUANTILE_GRID.length - 1 ? 1 : (QUANTILE_GRID[k]! + QUANTILE_GRID[k + 1]!) / 2;
      points.push({ v: s.q[k]!, w: s.requests * (hi - lo) });
    }
  }
  points.sort((a, b) => a.v - b.v);
  const total = points.reduce((a, p) => a + p.w, 0);
  let seen = 0;
  for (const p of points) {
    seen += p.w;
    if (seen >= f * total) return p.v;
  }
  return points.at(-1)?.v ?? 0;
}

function merged(title: string, slices: Slice[]): WrkResult {
  const sum = (f: (s: Slice) => number) => slices.reduce((a, s) => a + f(s), 0);
  const requests = sum((s) => s.requests);
  const status = sum((s) => s.status);
  const durationS = sum((s) => s.durationS);
  const sampledS = sum((s) => s.sampledS);
  const ok = Math.max(0, requests - status);
  // A single slice's own percentiles are wrk's exact ones; merged, they come from the grid.
  const [p50, p90, p99] = slices.length === 1 ? slices[0]!.exact : [0.5, 0.9, 0.99].map((f) => mergedQuantile(slices, f));
  return {
    title,
    rps: ok / durationS,
    p50: p50! / 1000,
    p90: p90! / 1000,
    p99: p99! / 1000,
    max: Math.max(...slices.map((s) => s.max)) / 1000,
    total: requests,
    ok,
    non2xx: status,
    errors: sum((s) => s.socketErrors),
    timeouts: sum((s) => s.timeouts),
    durationS,
    // wrk counts responses with status > 399 as errors; it does not break them down by code.
    statusCodes: (status ? { '4xx/5xx': status } : {}) as Record<string, number>,
    clientCpu: sum((s) => s.clientCpuS) / sampledS,
    serverCpu: sum((s) => s.serverCpuS) / sampledS,
    machineBusy: sum((s) => s.machineBusy * s.sampledS) / sampledS,
  };
}

/** wrk's path, or null when it is not installed (the bench installs nothing itself). */
export function findWrk(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/**
 * The latency quantiles each run reports (fractions): every 0.5% up to 90%, then every 0.05%. Runs
 * interleaved in slices are merged from these (each slice's points weighted by its requests), so a
 * merged p99 is exact to within one step, 0.05%.
 */
export const QUANTILE_GRID: number[] = [
  ...Array.from({ length: 180 }, (_, i) => (i + 0.5) * 0.005),
  ...Array.from({ length: 200 }, (_, i) => 0.9 + (i + 0.5) * 0.0005),
];

// setup() runs in the main Lua state, once per thread: it numbers the threads (random seeds, user ids).
const DONE = `
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end
local grid = { ${QUANTILE_GRID.map((q) => (q * 100).toFixed(3)).join(', ')} }

done = function(summary, latency, requests)
  local e = summary.errors
  local q = {}
  for k = 1, #grid do q[k] = string.format('%d', latency:percentile(grid[k])) end
  io.write(string.format('\\nRESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d,"q":[%s]}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, table.concat(q, ',')))
end
`;

const headerLines = (headers: Record<string, string>) =>
  Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');

function script(spec: LoadSpec, dir: string, n = 0): string {
  const t = spec.target;
  if (t.kind === 'get') {
    // The paths as one string of fixed-width records, not a Lua table of a million strings: every
    // Lua state (wrk's and each thread's) loads it in one read, and the garbage collector has one
    // object to mark instead of a million (the table cost wrk as much CPU as the server it loaded).
    const file = path.join(dir, `paths-${n}.txt`);
    const width = t.paths.reduce((m, p) => Math.max(m, p.length), 0);
    const padded = t.paths.some((p) => p.length !== width);
    writeFileSync(file, t.paths.map((p) => p.padEnd(width, ' ')).join('\n') + '\n');
    // Every thread starts at its own random record, so threads do not move in step.
    return `${headerLines(spec.headers)}
local f = assert(io.open(${JSON.stringify(file)}, "rb"))
local blob = f:read("*a")
f:close()
local w = ${width + 1}
local count = #blob / w
local i = 0
init = function(args) math.randomseed(os.time() * 1000 + tid); i = math.random(count) end
request = function()
  i = i % count + 1
  local o = (i - 1) * w + 1
  local p = blob:sub(o, o + w - 2)
  ${padded ? 'p = p:match("^(%S+)")' : ''}
  return wrk.format("GET", p)
end
${DONE}`;
  }
  if (t.kind === 'post') {
    return `${headerLines({ ...spec.headers, 'content-type': 'application/json' })}
wrk.method = "POST"
wrk.body = ${JSON.stringify(t.body)}
request = function() return wrk.format(nil, ${JSON.stringify(t.path)}) end
${DONE}`;
  }
  return `${headerLines({ ...spec.headers, 'content-type': 'application/json' })}
local n = 0
local tag = ""
init = function(args) math.randomseed(os.time() * 1000 + tid); tag = string.format("%d_%08x", tid, math.random(0, 2147483647)) end
local chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local function key()
  local t = {}
  for k = 1, 40 do local c = math.random(1, #chars); t[k] = chars:sub(c, c) end
  return "lin_api_" .. table.concat(t)
end
request = function()
  n = n + 1
  local body = string.format('{"auth_config":{"id":"%s"},"connection":{"user_id":"wrk_${t.runId}_%s_%d","state":{"authScheme":"API_KEY","val":{"api_key":"%s"}}}}',
    ${JSON.stringify(t.authConfigId)}, tag, n, key())
  return wrk.format("POST", ${JSON.stringify(t.path)}, nil, body)
end
${DONE}`;
}

/** utime + stime of a process, in seconds (null once it has exited). */
function procCpu(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // fields 14 and 15, in clock ticks (100 Hz on Linux)
  } catch {
    return null;
  }
}

export function startWrkRunner(wrkPath: string, o: { threads?: number } = {}): WrkRunner {
  const threads = o.threads ?? Math.max(1, Math.min(2, os.cpus().length));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'latchkey-wrk-'));
  const live = new Set<ReturnType<typeof spawn>>();

  function once(spec: LoadSpec, seconds: number, file: string) {
    return new Promise<{ out: string; clientCpu: number; serverCpu: number; machineBusy: number; sampledS: number }>((resolve, reject) => {
      const args = ['-t', String(threads), '-c', String(Math.max(threads, spec.connections)), '-d', `${seconds}s`, '--timeout', '10s', '-s', file, spec.url];
      const child = spawn(wrkPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      live.add(child);
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const t0 = performance.now();
      const s0 = process.cpuUsage();
      let lastCpu = 0;
      let serverAtLast = s0;
      let lastAt = t0;
      const m0 = machineCpu();
      let machineAtLast = m0;
      // wrk's CPU time can only be read while it runs: sample it, and the servers' alongside.
      const sampler = setInterval(() => {
        const c = child.pid ? procCpu(child.pid) : null;
        if (c === null) return;
        lastCpu = c;
        serverAtLast = process.cpuUsage();
        machineAtLast = machineCpu();
        lastAt = performance.now();
      }, 100);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearInterval(sampler);
        live.delete(child);
        if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${err.trim()}`));
        const wallS = (lastAt - t0) / 1000 || seconds;
        const server = serverAtLast.user + serverAtLast.system - s0.user - s0.system;
        const machineBusy = (machineAtLast.busy - m0.busy) / Math.max(1, machineAtLast.total - m0.total);
        resolve({ out, clientCpu: lastCpu / wallS, serverCpu: server / 1e6 / wallS, machineBusy, sampledS: wallS });
      });
    });
  }

  /** One measured run of `seconds` (the script already written), as wrk reported it. */
  async function slice(spec: LoadSpec, seconds: number, file: string): Promise<Slice> {
    const r = await once(spec, seconds, file);
    const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
    if (!line) throw new Error(`wrk printed no result:\n${r.out}`);
    const j = JSON.parse(line.slice(7)) as Record<string, number> & { q: number[] };
    return {
      requests: j.requests!,
      durationS: j.duration_us! / 1e6,
      status: j.status!,
      socketErrors: j.connect! + j.read! + j.write!,
      timeouts: j.timeout!,
      max: j.max!,
      exact: [j.p50!, j.p90!, j.p99!],
      q: j.q,
      clientCpuS: r.clientCpu * r.sampledS,
      serverCpuS: r.serverCpu * r.sampledS,
      machineBusy: r.machineBusy,
      sampledS: r.sampledS,
    };
  }

  /** Each spec's warm-up, then its measured time in `slices` turns (whole seconds: wrk's -d), the order reversed every other turn. */
  async function interleaved(specs: (LoadSpec & { before?: () => Promise<unknown> })[], slices: number): Promise<InterleavedResult[]> {
    const files = specs.map((spec, i) => {
      const file = path.join(dir, `script-${i}.lua`);
      writeFileSync(file, script(spec, dir, i));
      return file;
    });
    for (const [i, spec] of specs.entries()) {
      await spec.before?.();
      if (spec.warmupS > 0) await once(spec, spec.warmupS, files[i]!);
    }
    const got: Slice[][] = specs.map(() => []);
    for (let turn = 0; turn < slices; turn++) {
      const order = specs.map((_, i) => i);
      if (turn % 2 === 1) order.reverse();
      for (const i of order) {
        await specs[i]!.before?.();
        got[i]!.push(await slice(specs[i]!, Math.max(1, Math.round(specs[i]!.durationS / slices)), files[i]!));
      }
    }
    return specs.map((spec, i) => ({ ...merged(spec.title, got[i]!), sliceRps: got[i]!.map((x) => Math.max(0, x.requests - x.status) / x.durationS) }));
  }

  return {
    async run(spec) {
      const [r] = await interleaved([spec], 1);
      return r!;
    },
    interleaved,
    close() {
      for (const c of live) c.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
