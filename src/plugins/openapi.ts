/**
 * OpenAPI generated from the routes' zod schemas, served at /openapi.json, with a docs page at /docs.
 * openapi/openapi.json in the repository is this document; a test fails when it is stale, and
 * `npm run lint:openapi` holds it to Redocly's recommended rules.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { errorResponses } from './openapi-responses.js';

/** Tags in the order the reference page shows them; every route's tag is one of these. */
const TAGS = [
  { name: 'Toolkits', description: 'The catalogue of third-party apps and their auth schemes, and a project\'s own (custom) toolkits.' },
  { name: 'Auth configs', description: "A project's configuration of a toolkit: its own app credentials, or the operator's (managed)." },
  { name: 'Connected accounts', description: "One end user's credentials for one toolkit: connect, read, patch, refresh, revoke, and Connect Links." },
  { name: 'OAuth', description: 'The OAuth2 redirect target that providers send the browser back to.' },
  { name: 'Tools', description: 'The provider proxy: calling the provider as a connected account, without holding its credential.' },
  { name: 'Webhooks', description: 'Subscriptions to connected-account events, signed deliveries, the delivery log.' },
  { name: 'Legacy API (v1/v2)', description: "The older clients' routes (composio-core 0.4/0.5, the older Python toolset): the same data in the older shapes. Deprecated." },
  { name: 'Audit', description: 'The audit log: every administrative change and every read of a secret, with its actor (Latchkey extension).' },
  { name: 'Operations', description: 'Liveness and readiness probes (no API key).' },
];

async function openapiPlugin(app: FastifyInstance, opts: { publicUrl: string; version: string }) {
  const errors = errorResponses();
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Latchkey API',
        version: opts.version,
        description:
          "Self-hosted connected-accounts server, wire-compatible with Composio's /api/v3.1 API. " +
          'Every /api/v3.1 operation is also served, identically, under /api/v3 (the prefix Composio\'s documentation shows); ' +
          'this document lists each once. Authenticate with a project API key in x-api-key. ' +
          "Errors come in Composio's envelope (ErrorEnvelope).",
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      // Latchkey is self-hosted: there is no one public server, so the URL is a variable whose default
      // is this deployment's PUBLIC_URL (openapi/openapi.json carries the development default).
      servers: [
        {
          url: '{publicUrl}',
          description: 'A Latchkey deployment',
          variables: { publicUrl: { default: opts.publicUrl, description: 'The PUBLIC_URL of the deployment, e.g. https://latchkey.internal.acme.org' } },
        },
      ],
      tags: TAGS,
      components: { securitySchemes: { ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      security: [{ ApiKeyAuth: [] }],
    },
    transform: (input) => {
      const out = jsonSchemaTransform(input);
      const wildcard = input.url.endsWith('/*');
      if (input.schema && !input.schema.hide) errors.record(input.schema, wildcard ? input.url.replace(/\/\*$/, '/:path') : input.url, input.route);
      return wildcard ? namedWildcard(out) : out;
    },
    transformObject: (input) => errors.apply(jsonSchemaTransformObject(input) as Parameters<typeof errors.apply>[0]),
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => openapiDocument(app));
}

/**
 * A wildcard route (`…/proxy/*`) as OpenAPI can say it: a path parameter named `path` (OpenAPI has
 * no "rest of the path"; the value may contain slashes).
 */
function namedWildcard(out: ReturnType<typeof jsonSchemaTransform>) {
  const params = (out.schema as { params?: { properties?: Record<string, unknown>; required?: string[] } }).params;
  if (params?.properties?.['*']) {
    const { '*': rest, ...others } = params.properties;
    params.properties = { ...others, path: { ...(rest as object), description: 'The rest of the path, under the base URL (may contain /)' } };
    params.required = params.required?.map((r) => (r === '*' ? 'path' : r));
  }
  return { ...out, url: out.url.replace(/\/\*$/, '/:path') };
}

/** The document without the /api/v3 mirror (the same routes), so the spec lists each operation once. */
export function openapiDocument(app: FastifyInstance) {
  const doc = app.swagger() as { paths?: Record<string, unknown> };
  const paths = Object.fromEntries(Object.entries(doc.paths ?? {}).filter(([p]) => !p.startsWith('/api/v3/')));
  return { ...doc, paths };
}

export default fp(openapiPlugin, { name: 'openapi' });
