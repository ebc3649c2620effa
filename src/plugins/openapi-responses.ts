/**
 * The error responses every operation can give, declared once here rather than in each route: a
 * route's schema lists only its successes, and this adds the standard 4xx answers that apply to it,
 * each as a reference to one shared response carrying the error envelope.
 *
 * Which apply is read from the route itself, so the description cannot claim more than it does:
 * 400 when it takes input (params, query or body), 401 unless it is public (`security: []`), 404
 * when its path names a resource, 429 when it is rate-limited. A status a route declares itself
 * wins. Public pages (config.public without a response schema, e.g. the OAuth callback) answer a
 * failed step with an HTML page, so their 400 is documented as either.
 */
import type { FastifySchema, RouteOptions } from 'fastify';
import { z } from 'zod';
import { errorEnvelope } from '../lib/schemas.js';
import type { ErrorEnvelope } from './error-handler.js';

// The documented envelope must describe what the error handler sends (both directions).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const envelopeMatchesHandler: Same<z.infer<typeof errorEnvelope>, ErrorEnvelope> = true;
void envelopeMatchesHandler;

const ENVELOPE_REF = '#/components/schemas/ErrorEnvelope';
const json = { 'application/json': { schema: { $ref: ENVELOPE_REF } } };

/** components.responses: the shared answers, by name. */
const STANDARD_RESPONSES = {
  BadRequest: {
    description: 'The request is invalid: a field fails validation (error.errors lists each), malformed JSON, an unknown cursor, or a rule of this operation.',
    content: json,
  },
  Unauthorized: { description: 'No x-api-key, or a key that is unknown or revoked.', content: json },
  NotFound: { description: "No such resource in this project (another project's resources answer 404 too).", content: json },
  TooManyRequests: {
    description: 'Rate limit of this API key exceeded.',
    headers: { 'retry-after': { description: 'Seconds until a request is accepted again', schema: { type: 'integer' } } },
    content: json,
  },
} as const;

const STATUS_RESPONSE = { 400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 429: 'TooManyRequests' } as const;
type Status = keyof typeof STATUS_RESPONSE;

const PAGE_BAD_REQUEST = {
  description: 'An invalid query string answers the JSON envelope; a step that fails (denied, expired or replayed state) answers an HTML page saying so.',
  content: { ...json, 'text/html': { schema: { type: 'string' } } },
};

type RouteFacts = { statuses: Status[]; page: boolean };

/** Collects, per operation, which standard responses apply; then adds them to the document. */
export function errorResponses() {
  const facts = new Map<string, RouteFacts>();
  const key = (method: string, url: string) => `${method.toLowerCase()} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;

  /** Called for each route while @fastify/swagger builds the document. */
  function record(schema: FastifySchema, url: string, route: RouteOptions) {
    const config = (route.config ?? {}) as { rateLimit?: unknown; public?: boolean };
    const statuses: Status[] = [];
    if (schema.params || schema.querystring || schema.body) statuses.push(400);
    if (!(Array.isArray(schema.security) && schema.security.length === 0)) statuses.push(401);
    if (url.includes(':')) statuses.push(404);
    if (config.rateLimit) statuses.push(429);
    const page = config.public === true && !schema.response;
    for (const method of [route.method].flat()) facts.set(key(method, url), { statuses, page });
  }

  /** Adds the shared responses and the envelope to the finished document, and references to each operation. */
  function apply<T extends { paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>; components?: Record<string, unknown> }>(doc: T): T {
    for (const [path, operations] of Object.entries(doc.paths ?? {})) {
      for (const [method, op] of Object.entries(operations)) {
        const f = facts.get(`${method} ${path}`);
        if (!f) continue;
        const responses = (op.responses ??= {});
        for (const status of f.statuses) {
          if (responses[status]) continue;
          responses[status] = status === 400 && f.page ? PAGE_BAD_REQUEST : { $ref: `#/components/responses/${STATUS_RESPONSE[status]}` };
        }
      }
    }
    const components = (doc.components ??= {}) as { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
    // OpenAPI 3.1 schemas are JSON Schema 2020-12, zod's default target; the document states the dialect once.
    const { $schema: _dialect, ...envelopeSchema } = z.toJSONSchema(errorEnvelope);
    components.schemas = { ...components.schemas, ErrorEnvelope: envelopeSchema };
    components.responses = { ...components.responses, ...STANDARD_RESPONSES };
    return doc;
  }

  return { record, apply };
}
