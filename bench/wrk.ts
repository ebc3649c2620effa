/**
 * The load generator: wrk (native, multi-threaded, event-driven), so that it can saturate even the
 * bare ceiling on a small machine; a Node.js generator (autocannon) could not, and held the ceiling
 * back to about its own speed, which flattered every ratio. A Lua script rotates GET paths over a
 * file of ids or builds a distinct POST body per request, and reports its percentiles as JSON.
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
};

export type WrkRunner = { run: (spec: LoadSpec) => Promise<WrkResult>; close: () => void };

/** wrk's path, or null when it is not installed (the bench installs nothing itself). */
export function findWrk(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

// setup() runs in the main Lua state, once per thread: it numbers the threads (random seeds, user ids).
const DONE = `
local threads = 0
setup = function(thread) threads = threads + 1; thread:set("tid", threads) end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
`;

const headerLines = (headers: Record<string, string>) =>
  Object.entries(headers)
    .map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`)
    .join('\n');

function script(spec: LoadSpec, dir: string): string {
  const t = spec.target;
  if (t.kind === 'get') {
    const file = path.join(dir, 'paths.txt');
    writeFileSync(file, t.paths.join('\n') + '\n');
    // Every thread reads the file and starts at its own random offset, so threads do not move in step.
    return `${headerLines(spec.headers)}
local paths = {}
local i = 0
for line in io.lines(${JSON.stringify(file)}) do paths[#paths + 1] = line end
init = function(args) math.randomseed(os.time() * 1000 + tid); i = math.random(#paths) end
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i])
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
    return new Promise<{ out: string; clientCpu: number; serverCpu: number; wallS: number }>((resolve, reject) => {
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
      // wrk's CPU time can only be read while it runs: sample it, and the servers' alongside.
      const sampler = setInterval(() => {
        const c = child.pid ? procCpu(child.pid) : null;
        if (c === null) return;
        lastCpu = c;
        serverAtLast = process.cpuUsage();
        lastAt = performance.now();
      }, 100);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearInterval(sampler);
        live.delete(child);
        if (code !== 0) return reject(new Error(`wrk exited with ${code}: ${err.trim()}`));
        const wallS = (lastAt - t0) / 1000 || seconds;
        const server = serverAtLast.user + serverAtLast.system - s0.user - s0.system;
        resolve({ out, clientCpu: lastCpu / wallS, serverCpu: server / 1e6 / wallS, wallS: (performance.now() - t0) / 1000 });
      });
    });
  }

  return {
    async run(spec) {
      const file = path.join(dir, 'script.lua');
      writeFileSync(file, script(spec, dir));
      if (spec.warmupS > 0) await once(spec, spec.warmupS, file);
      const r = await once(spec, spec.durationS, file);
      const line = r.out.split('\n').find((l) => l.startsWith('RESULT '));
      if (!line) throw new Error(`wrk printed no result:\n${r.out}`);
      const j = JSON.parse(line.slice(7)) as Record<string, number>;
      const durationS = j.duration_us! / 1e6;
      const socketErrors = j.connect! + j.read! + j.write! + j.timeout!;
      const ok = Math.max(0, j.requests! - j.status!);
      return {
        title: spec.title,
        rps: ok / durationS,
        p50: j.p50! / 1000,
        p90: j.p90! / 1000,
        p99: j.p99! / 1000,
        max: j.max! / 1000,
        total: j.requests!,
        ok,
        non2xx: j.status!,
        errors: socketErrors - j.timeout!,
        timeouts: j.timeout!,
        durationS,
        // wrk counts responses with status > 399 as errors; it does not break them down by code.
        statusCodes: (j.status ? { '4xx/5xx': j.status } : {}) as Record<string, number>,
        clientCpu: r.clientCpu,
        serverCpu: r.serverCpu,
      };
    },
    close() {
      for (const c of live) c.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
