/**
 * The load generator, in its own process so that it does not share an event loop with the servers
 * under test. Runs autocannon for each spec the parent sends (a warm-up, then the measured run).
 */
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import type { FromWorker, LoadResult, LoadSpec, ToWorker } from './load-types.js';

function requestsFor(spec: LoadSpec, phase: string): Pick<autocannon.Options, 'requests'> {
  const t = spec.target;
  if (t.kind === 'get') {
    if (t.paths.length === 1) return { requests: [{ method: 'GET', path: t.paths[0]! }] };
    const paths = t.paths;
    // The measured run starts half-way round, on ids the warm-up did not read.
    let i = phase === 'warmup' ? 0 : Math.floor(paths.length / 2);
    return {
      requests: [
        {
          method: 'GET',
          setupRequest: (req) => {
            req.path = paths[i++ % paths.length]!;
            return req;
          },
        },
      ],
    };
  }
  let n = 0;
  return {
    requests: [
      {
        method: 'POST',
        path: t.path,
        setupRequest: (req) => {
          req.body = JSON.stringify({
            auth_config: { id: t.authConfigId },
            connection: {
              user_id: `bench_${t.runId}_${phase}_${n++}`,
              state: { authScheme: 'API_KEY', val: { api_key: `lin_api_${randomBytes(20).toString('hex')}` } },
            },
          });
          return req;
        },
      },
    ],
  };
}

async function run(spec: LoadSpec): Promise<LoadResult> {
  const base = {
    url: spec.url,
    connections: spec.connections,
    pipelining: 1,
    timeout: 10,
    headers: { ...spec.headers, ...(spec.target.kind === 'create' ? { 'content-type': 'application/json' } : {}) },
  };
  if (spec.warmupS > 0) await autocannon({ ...base, ...requestsFor(spec, 'warmup'), duration: spec.warmupS });
  const r = await autocannon({ ...base, ...requestsFor(spec, 'measure'), duration: spec.durationS });
  const statusCodes: Record<string, number> = {};
  for (const [code, v] of Object.entries(r.statusCodeStats ?? {})) statusCodes[code] = v.count ?? 0;
  return {
    title: spec.title,
    rps: r['2xx'] / r.duration,
    p50: r.latency.p50,
    p90: r.latency.p90,
    p99: r.latency.p99,
    max: r.latency.max,
    total: r.requests.total,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    durationS: r.duration,
    statusCodes,
  };
}

process.on('message', (msg: ToWorker) => {
  run(msg.spec).then(
    (result) => process.send!({ id: msg.id, result } satisfies FromWorker),
    (err: unknown) => process.send!({ id: msg.id, error: String((err as Error)?.stack ?? err) } satisfies FromWorker),
  );
});
process.on('disconnect', () => process.exit(0));
