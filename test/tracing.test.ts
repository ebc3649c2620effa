/**
 * OpenTelemetry: off, the server loads none of the SDK; on, a real server process exports spans of
 * its HTTP requests and PostgreSQL queries to a loopback OTLP/HTTP receiver, the last ones on a
 * clean shutdown.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabase } from './support/database.js';
import { type ServerProcess, processSecrets, seedProject, startServerProcess } from './support/server-process.js';

const root = path.resolve(import.meta.dirname, '..');
const run = promisify(execFile);

/**
 * In a fresh Node process: which OpenTelemetry SDK modules get resolved while the preload runs and
 * the whole app (server wiring included) is imported.
 */
async function sdkModulesLoaded(env: Record<string, string>): Promise<string[]> {
  const script = `
    import { registerHooks } from 'node:module';
    const seen = [];
    registerHooks({ resolve(specifier, context, next) { if (/@opentelemetry\\/(sdk|exporter|instrumentation|resources)/.test(specifier)) seen.push(specifier); return next(specifier, context); } });
    await import('./src/tracing-preload.ts');
    await import('./src/app.ts');
    await import('./src/lib/tracing.ts');
    process.stdout.write(JSON.stringify(seen));
    process.exit(0);
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...env },
  });
  return JSON.parse(stdout) as string[];
}

describe('tracing off (the default)', () => {
  it('imports nothing of the OpenTelemetry SDK; set, the same check sees it loaded', async () => {
    expect(await sdkModulesLoaded({})).toEqual([]);
    const on = await sdkModulesLoaded({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:9/v1/traces' });
    expect(on).toEqual(expect.arrayContaining(['@opentelemetry/sdk-trace-node', '@opentelemetry/instrumentation-pg']));
  }, 60_000);
});

describe('tracing on', () => {
  type Span = { name: string; kind: number; attributes: { key: string; value: Record<string, unknown> }[] };
  const batches: { resourceSpans: { scopeSpans: { scope: { name: string }; spans: Span[] }[] }[] }[] = [];
  let receiver: http.Server;
  let server: ServerProcess | undefined;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (req.url === '/v1/traces' && req.headers['content-type']?.includes('json')) batches.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
    const database = await freshDatabase();
    drop = database.drop;
    const secrets = processSecrets();
    await seedProject(database.url, secrets);
    server = await startServerProcess(
      { DATABASE_URL: database.url, JOBS_ENABLED: 'false', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: endpoint, ...secrets.env },
      ['--import', './src/tracing-preload.ts'],
    );
  }, 120_000);
  afterAll(async () => {
    await server?.kill('SIGKILL');
    await drop?.();
    receiver?.close();
  });

  it('exports spans of HTTP requests and PostgreSQL queries over OTLP/HTTP', async () => {
    expect((await fetch(`${server!.baseUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${server!.baseUrl}/api/v3.1/toolkits`, { headers: { 'x-api-key': 'ak_notakeynotakeynotakeynotakey' } })).status).toBe(401);
    await server!.kill('SIGTERM'); // a clean shutdown sends what is still buffered
    const scopes = batches.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans));
    const byScope = (name: string) => scopes.filter((s) => s.scope.name === name).flatMap((s) => s.spans);
    const httpSpans = byScope('@opentelemetry/instrumentation-http');
    const pgSpans = byScope('@opentelemetry/instrumentation-pg');
    expect(httpSpans.length).toBeGreaterThanOrEqual(2);
    const paths = httpSpans.flatMap((s) => s.attributes.filter((a) => a.key === 'url.path' || a.key === 'http.target').map((a) => String(a.value.stringValue)));
    expect(paths).toEqual(expect.arrayContaining(['/readyz', '/api/v3.1/toolkits']));
    expect(pgSpans.length).toBeGreaterThanOrEqual(1);
    // Only requests Latchkey served and queries it made: the exporter's own calls are not traced.
    expect(paths.some((p) => p.startsWith('/v1/traces'))).toBe(false);
  }, 60_000);
});
