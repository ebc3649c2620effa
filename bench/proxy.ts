/**
 * The provider proxy's cost: added latency (p50/p99) and throughput of
 * `GET /api/v3.1/connected_accounts/{id}/proxy/item` and `POST /api/v3.1/tools/execute/proxy`
 * relative to calling the same loopback provider directly. Everything listens on 127.0.0.1;
 * bounded in time (BENCH_DURATION_S per target, default 5). `npm run bench:proxy`. The load comes
 * from wrk (bench/wrk.ts), as in `npm run bench`. The provider runs in this process beside Latchkey,
 * so "server CPU" counts both: the direct row is the provider alone, the proxied rows both.
 * Uses BENCH_DATABASE_URL's server when set, otherwise an embedded PostgreSQL (bench/database.ts).
 * BENCH_PROXY_TLS=1 serves the provider over HTTPS, as real providers are (a P-256 certificate made
 * with openssl for this run, trusted by this process alone through tls.setDefaultCACertificates).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type RequestListener } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { openBenchApp, runBench } from './harness.js';
import type { LoadTarget } from './load-types.js';
import { clientBound } from './report.js';
import { findWrk, startWrkRunner } from './wrk.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const log = (m: string) => process.stderr.write(`${m}\n`);

const TLS = process.env.BENCH_PROXY_TLS === '1';

/** The provider's server: plain HTTP, or HTTPS with a certificate for 127.0.0.1 that this process trusts. */
function providerServer(handler: RequestListener) {
  if (!TLS) return http.createServer(handler);
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-tls-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    const pem = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
    tls.setDefaultCACertificates([...tls.getCACertificates('default'), pem.cert]);
    return https.createServer(pem, handler);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const provider = providerServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id":"item_1","name":"A thing","tags":["a","b","c"]}');
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  const providerUrl = `${TLS ? 'https' : 'http'}://127.0.0.1:${(provider.address() as AddressInfo).port}`;

  const bench = await openBenchApp(log, { config: { EGRESS_ALLOW_PRIVATE_ADDRESSES: true, PROXY_ACCOUNT_RATE_LIMIT: 1_000_000_000 } });
  const { app, url: appUrl } = bench;
  try {
    const { apiKey } = await app.services.projects.createProject('bench-proxy');
    const call = async (path: string, body: object) => {
      const res = await fetch(`${appUrl}/api/v3.1${path}`, { method: 'POST', headers: { 'x-api-key': apiKey, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      return (await res.json()) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    };
    const field = { name: 'api_key', displayName: 'API key', type: 'string', description: 'The key.', required: true, is_secret: true };
    await call('/custom_toolkits', {
      slug: 'benchapi', name: 'Bench API', description: 'Loopback provider.', logo: `${providerUrl}/l.svg`, app_url: providerUrl, docs_url: providerUrl,
      categories: [{ slug: 'testing', name: 'Testing' }], base_url: `${providerUrl}/v1`,
      auth_schemes: [{ mode: 'API_KEY', name: 'Key', fields: { auth_config_creation: [], connected_account_initiation: [field] }, request_auth: [{ in: 'header', name: 'Authorization', value: 'Bearer {{api_key}}' }] }],
    });
    const cfg = await call('/auth_configs', { toolkit: { slug: 'benchapi' }, auth_config: { type: 'use_custom_auth', authScheme: 'API_KEY', credentials: {} } });
    const acc = await call('/connected_accounts', { auth_config: { id: cfg.auth_config.id }, connection: { state: { authScheme: 'API_KEY', val: { api_key: 'bench-key' } } } });

    const wrkPath = findWrk();
    if (!wrkPath) throw new Error('bench:proxy needs wrk (Debian: apt-get install wrk)');
    const load = startWrkRunner(wrkPath);
    const run = async (name: string, url: string, target: LoadTarget, headers: Record<string, string> = {}) => ({
      name,
      r: await load.run({ title: name, url, headers, connections: CONNECTIONS, durationS: DURATION_S, warmupS: 1, target }),
    });
    const results = [];
    try {
      results.push(await run('direct', providerUrl, { kind: 'get', paths: ['/v1/item'] }));
      results.push(await run('pass-through', appUrl, { kind: 'get', paths: [`/api/v3.1/connected_accounts/${acc.id}/proxy/item`] }, { 'x-api-key': apiKey }));
      results.push(
        await run(
          'execute/proxy',
          appUrl,
          { kind: 'post', path: '/api/v3.1/tools/execute/proxy', body: JSON.stringify({ connected_account_id: acc.id, endpoint: '/item', method: 'GET' }) },
          { 'x-api-key': apiKey },
        ),
      );
    } finally {
      load.close();
    }
    const direct = results[0]!.r;
    log(`${CONNECTIONS} connections, ${DURATION_S} s each after 1 s of warm-up, wrk; the provider over ${TLS ? 'HTTPS' : 'HTTP'}`);
    log('| target | p50 ms | p99 ms | added p50 / p99 ms | req/s | vs direct | server CPU ms per request | CPU wrk / server | errors |');
    log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const { name, r } of results) {
      const cpu = `${r.clientCpu.toFixed(2)} / ${r.serverCpu.toFixed(2)}${clientBound(r) ? ' client-bound' : ''}`;
      log(
        `| ${name} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${(r.p50 - direct.p50).toFixed(2)} / ${(r.p99 - direct.p99).toFixed(2)} | ${Math.round(r.rps)} | ` +
          `${((r.rps / direct.rps) * 100).toFixed(0)}% | ${((r.serverCpu / Math.max(1, r.rps)) * 1000).toFixed(3)} | ${cpu} | ${r.total - r.ok + r.errors} |`,
      );
    }
  } finally {
    await bench.close();
    provider.close();
  }
}

runBench('bench:proxy', main, { watchdogMs: 180_000 });
