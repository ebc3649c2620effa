/**
 * OpenTelemetry traces, started only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set: incoming and
 * outgoing HTTP (the API, and every call through the egress guard, which uses node:http/https) and
 * PostgreSQL queries (the pg driver, under Prisma too), exported over OTLP/HTTP in batches.
 *
 * The SDK is imported here only inside startTracing, so a server without the setting loads none
 * of it. It must start before Latchkey's own modules load (instrumentation hooks modules as they
 * load): `npm start` preloads tracing-preload.ts with `node --import`.
 *
 * Spans carry what the instrumentations record: methods, route-less URL paths, status codes and
 * SQL text with parameters as placeholders (values are never captured). Request and response
 * headers are not recorded.
 */
import { register } from 'node:module';

type Tracing = { shutdown: () => Promise<void> };
let running: Tracing | undefined;

export async function startTracing(o: { endpoint: string; serviceName?: string }): Promise<Tracing> {
  if (running) return running;
  // ESM modules, and CommonJS ones imported from ESM (pg), are instrumented through these loader hooks.
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { registerInstrumentations }, { HttpInstrumentation }, { PgInstrumentation }, { resourceFromAttributes }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/instrumentation'),
      import('@opentelemetry/instrumentation-http'),
      import('@opentelemetry/instrumentation-pg'),
      import('@opentelemetry/resources'),
    ]);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': o.serviceName ?? 'latchkey' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: o.endpoint }))],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      // The exporter's own requests are not traced (they would trace themselves for ever).
      new HttpInstrumentation({ ignoreOutgoingRequestHook: (req) => isExporter(req, o.endpoint) }),
      new PgInstrumentation({ enhancedDatabaseReporting: false }),
    ],
  });
  running = { shutdown: () => provider.shutdown() };
  return running;
}

/** Sends the spans still buffered and stops (clean shutdown); nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  await running?.shutdown();
  running = undefined;
}

function isExporter(req: { hostname?: string | null; host?: string | null; port?: number | string | null; path?: string | null }, endpoint: string) {
  const url = new URL(endpoint);
  const host = req.hostname ?? req.host ?? '';
  const port = String(req.port ?? (url.protocol === 'https:' ? 443 : 80));
  return host === url.hostname && port === (url.port || (url.protocol === 'https:' ? '443' : '80')) && (req.path ?? '').startsWith(url.pathname);
}
