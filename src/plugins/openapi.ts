/**
 * OpenAPI generated from the routes' zod schemas, served at /openapi.json, with a docs page at /docs.
 * openapi/openapi.json in the repository is this document; a test fails when it is stale.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

async function openapiPlugin(app: FastifyInstance, opts: { publicUrl: string; version: string }) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Latchkey API',
        version: opts.version,
        description:
          "Self-hosted connected-accounts server, wire-compatible with Composio's /api/v3.1 API. " +
          'Every route is also served under /api/v3. Authenticate with a project API key in x-api-key.',
      },
      components: { securitySchemes: { ApiKeyAuth: { type: 'apiKey', in: 'header', name: 'x-api-key' } } },
      security: [{ ApiKeyAuth: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.get('/openapi.json', { schema: { hide: true }, config: { rateLimit: false } }, async () => openapiDocument(app));
}

/** The document without the /api/v3 mirror (the same routes), so the spec lists each operation once. */
export function openapiDocument(app: FastifyInstance) {
  const doc = app.swagger() as { paths?: Record<string, unknown> };
  const paths = Object.fromEntries(Object.entries(doc.paths ?? {}).filter(([p]) => !p.startsWith('/api/v3/')));
  return { ...doc, paths };
}

export default fp(openapiPlugin, { name: 'openapi' });
