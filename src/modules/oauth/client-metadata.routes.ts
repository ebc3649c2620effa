/**
 * GET /oauth/client-metadata/{auth_config_id}.json: the client ID metadata document of a
 * CIMD_OAUTH auth config (draft-ietf-oauth-client-id-metadata-document). Public: an authorization
 * server fetches it to learn Latchkey's redirect URI; it holds no secret (a CIMD client is public,
 * PKCE is its proof). Any id that is not a live CIMD_OAUTH config is a 404.
 */
import type { FastifyPluginAsync } from 'fastify';

export const clientMetadataRoutes: FastifyPluginAsync<{ document: (authConfigId: string) => Promise<object | undefined>; rateLimit: object }> = async (app, { document, rateLimit }) => {
  app.get<{ Params: { file: string } }>('/:file', { config: { rateLimit, public: true }, schema: { hide: true } }, async (req, reply) => {
    const m = /^(ac_[0-9A-Za-z]{6,40})\.json$/.exec(req.params.file);
    const doc = m ? await document(m[1]!) : undefined;
    if (!doc) return reply.code(404).type('application/json').send({ error: 'not_found' });
    return reply.header('cache-control', 'public, max-age=300').type('application/json').send(doc);
  });
};
