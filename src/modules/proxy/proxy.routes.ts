/**
 * The provider proxy's routes: Composio's POST /tools/execute/proxy, and Latchkey's streaming
 * pass-through, binary downloads and call records.
 */
import type { FastifyPluginAsyncZod, ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { RouteDeps } from '../../app.js';
import { callerOf } from '../../plugins/auth.js';
import { AccountParams } from '../connected-accounts/connected-accounts.schemas.js';
import { FileParams, PassThroughParams, ProxyBody, ProxyCallList, ProxyCallsQuery, ProxyResponse } from './proxy.schemas.js';

export type ProxyRouteDeps = RouteDeps & {
  /** The largest JSON body of POST /tools/execute/proxy (room for a base64 binary_body). */
  executeBodyLimit: number;
};

export const proxyRoutes: FastifyPluginAsyncZod<ProxyRouteDeps> = async (app, { services, limits, executeBodyLimit }) => {
  const { proxy } = services;

  app.post('/tools/execute/proxy', {
    bodyLimit: executeBodyLimit,
    schema: {
      operationId: 'postToolsExecuteProxy',
      summary: 'Call the provider as a connected account',
      tags: ['Tools'],
      description:
        "Sends a request to the provider with the connected account's credential, which the caller never sees. The provider's answer, whatever its status, is a 200 with `status`; Latchkey's own failures (unknown account, refused host, unreachable or slow provider) are errors in the envelope.",
      body: ProxyBody,
      response: { 200: ProxyResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => proxy.execute(callerOf(req), req.body),
  });

  app.get('/files/:id', {
    schema: {
      operationId: 'getProxyFile',
      summary: "Download a proxied call's binary response",
      tags: ['Tools'],
      description: 'Latchkey extension: the bytes behind `binary_data.url`, for the project that made the call, until `expires_at`.',
      params: FileParams,
      response: { 200: z.any().describe('The bytes, with the provider’s content type') },
    },
    config: { rateLimit: limits.read },
    handler: async (req, reply) => {
      const f = await proxy.file(callerOf(req), req.params.id);
      return reply.type(f.contentType).header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff').header('content-disposition', 'attachment').send(f.bytes);
    },
  });

  app.get('/connected_accounts/:nanoid/proxy_calls', {
    schema: {
      operationId: 'listConnectedAccountProxyCalls',
      summary: "List a connected account's proxied calls",
      tags: ['Connected accounts'],
      description: 'Latchkey extension: recent calls made through the proxy for this account, newest first. No bodies, query values or credentials are kept.',
      params: AccountParams,
      querystring: ProxyCallsQuery,
      response: { 200: ProxyCallList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => proxy.calls(callerOf(req), req.params.nanoid, req.query),
  });

  // The streaming pass-through takes any body as it arrives: no parsing, no buffering here.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    const raw = scope.withTypeProvider<ZodTypeProvider>();
    raw.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));
    for (const method of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      raw.route({
        method,
        url: '/connected_accounts/:nanoid/proxy/*',
        exposeHeadRoute: false,
        schema: {
          operationId: `passThroughConnectedAccountProxy${method[0]}${method.slice(1).toLowerCase()}`,
          summary: `Stream a ${method} request to the provider as a connected account`,
          tags: ['Connected accounts'],
          description:
            "Latchkey extension: the rest of the path goes to the provider under the account's base URL, with the method, query, allow-listed headers and body; the provider's status, headers and body stream back as they arrive.",
          params: PassThroughParams,
          response: { default: z.any().describe("The provider's response, streamed") },
        },
        config: { rateLimit: limits.write },
        handler: async (req, reply) => {
          const r = await proxy.stream(callerOf(req), req.params.nanoid, req.params['*'], req.raw);
          return reply.code(r.status).headers(r.headers).send(r.body);
        },
      });
    }
  });
};
