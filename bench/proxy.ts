/**
 * The provider proxy's cost: added latency (p50/p99) and throughput of
 * `GET /api/v3.1/connected_accounts/{id}/proxy/item` and `POST /api/v3.1/tools/execute/proxy`
 * relative to calling the same loopback provider directly. Everything listens on 127.0.0.1;
 * bounded in time (BENCH_DURATION_S per target, default 5). `npm run bench:proxy`.
 * Uses BENCH_DATABASE_URL's server when set, otherwise an embedded PostgreSQL (bench/database.ts).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import { buildApp } from '../src/app.js';
import { createDatabase } from '../src/db/prisma.js';
import { openBenchDatabase, benchAppConfig, benchCrypto } from './database.js';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 20);
const log = (m: string) => process.stderr.write(`${m}\n`);

async function main() {
  const provider = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"id":"item_1","name":"A thing","tags":["a","b","c"]}');
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  const providerUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;

  const db = await openBenchDatabase(log);
  const clients = createDatabase(db.url, 10);
  const config = benchAppConfig({
    EGRESS_ALLOW_PRIVATE_ADDRESSES: true,
    PROXY_ACCOUNT_RATE_LIMIT: 1_000_000_000,
  });
  const crypto = benchCrypto();
  const app = await buildApp({ config, db: clients.db, pool: clients.pool, crypto });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const appUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
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

    const run = (name: string, opts: autocannon.Options) =>
      new Promise<{ name: string; p50: number; p99: number; rps: number; errors: number }>((resolve, reject) => {
        autocannon({ connections: CONNECTIONS, duration: DURATION_S, ...opts }, (err, r) => {
          if (err) return reject(err);
          resolve({ name, p50: r.latency.p50, p99: r.latency.p99, rps: r.requests.average, errors: r.errors + r.non2xx });
        });
      });
    const results = [
      await run('direct', { url: `${providerUrl}/v1/item` }),
      await run('pass-through', { url: `${appUrl}/api/v3.1/connected_accounts/${acc.id}/proxy/item`, headers: { 'x-api-key': apiKey } }),
      await run('execute/proxy', {
        url: `${appUrl}/api/v3.1/tools/execute/proxy`,
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'content-type': 'application/json' },
        body: JSON.stringify({ connected_account_id: acc.id, endpoint: '/item', method: 'GET' }),
      }),
    ];
    const direct = results[0]!;
    log(`${CONNECTIONS} connections, ${DURATION_S} s each`);
    log('| target | p50 ms | p99 ms | added p50 / p99 ms | req/s | vs direct | errors |');
    log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const r of results) {
      log(`| ${r.name} | ${r.p50} | ${r.p99} | ${r.p50 - direct.p50} / ${r.p99 - direct.p99} | ${Math.round(r.rps)} | ${((r.rps / direct.rps) * 100).toFixed(0)}% | ${r.errors} |`);
    }
  } finally {
    await app.close();
    await clients.close();
    await db.stop();
    provider.close();
  }
}

const watchdog = setTimeout(() => {
  log('bench:proxy took too long; aborting');
  process.exit(1);
}, 180_000);
watchdog.unref();
main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(String((err as Error)?.stack ?? err));
    process.exit(1);
  },
);
