/**
 * Preloaded by `npm start` (`node --import ./dist/tracing-preload.js dist/server.js`): starts
 * OpenTelemetry tracing before Latchkey's modules load, when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
 * set. Without it, this imports the configuration schema and nothing of OpenTelemetry. An invalid
 * configuration is left for the server to report.
 */
import { loadConfig } from './lib/config.js';

let endpoint: string | undefined;
try {
  endpoint = loadConfig().OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
} catch {
  endpoint = undefined;
}
if (endpoint) {
  const { startTracing } = await import('./lib/tracing.js');
  await startTracing({ endpoint });
}
