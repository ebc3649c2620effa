/**
 * Every error leaves in Composio's envelope. Client mistakes (validation, malformed JSON, wrong media
 * type, oversized body, unknown route) become their 4xx; database errors are translated by
 * db/errors.ts (503 while it is unreachable); anything unexpected becomes a 500 whose
 * message says nothing about internals, and is logged with its stack but without request data.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';
import { translateDbError } from '../db/errors.js';
import { DecryptError } from '../lib/crypto.js';
import { AppError, isAppError } from '../lib/errors.js';

export type ErrorEnvelope = {
  error: {
    message: string;
    code: number;
    slug: string;
    status: number;
    request_id: string;
    suggested_fix?: string;
    errors?: string[];
  };
};

/** What an error means to a client, if it is one Latchkey knows (the console's pages use it too). */
export function toAppError(err: unknown): AppError | undefined {
  if (isAppError(err)) return err;
  const e = err as FastifyError & { issues?: unknown };
  if (hasZodFastifySchemaValidationErrors(e)) {
    const errors = e.validation.map((v) => {
      const where = [e.validationContext, ...(v.instancePath ? v.instancePath.split('/').filter(Boolean) : [])].join('.');
      return `${where}: ${v.message}`;
    });
    return new AppError('Request_ValidationError', `Invalid request: ${errors.join('; ')}`.slice(0, 1000), {
      errors: errors.slice(0, 50),
    });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('Request_MalformedJson', 'The request body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('Request_BodyTooLarge', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('Request_UnsupportedMediaType', 'Unsupported content type; send application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      // The body's length does not match its content-length header: bad framing, not a media type.
      return new AppError('Request_ValidationError', 'The request body does not match its content-length');
    case 'FST_ERR_VALIDATION':
      return new AppError('Request_ValidationError', `Invalid request: ${e.message}`.slice(0, 1000));
  }
  // Driver and Prisma errors (unreachable database, unstorable values, constraints): one translator.
  const fromDb = translateDbError(err);
  if (fromDb) return fromDb;
  if (e instanceof DecryptError) {
    // Not the client's mistake: a row sealed under a key the keyring lacks, or altered in the database.
    return new AppError('Storage_Unreadable', 'Stored credentials could not be decrypted', {
      suggestedFix: 'The operator should check LATCHKEY_ENCRYPTION_KEYS holds every key in use',
    });
  }
  if (e instanceof SyntaxError && 'statusCode' in e && e.statusCode === 400) {
    return new AppError('Request_MalformedJson', 'The request body is not valid JSON');
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    // Some other client error from Fastify or a plugin: keep the status, with a generic message.
    const slug = e.statusCode === 404 ? 'Route_NotFound' : e.statusCode === 415 ? 'Request_UnsupportedMediaType' : e.statusCode === 413 ? 'Request_BodyTooLarge' : 'Request_ValidationError';
    return new AppError(slug, e.statusCode === 404 ? 'Not found' : 'The request could not be processed');
  }
  return undefined;
}

export function envelope(err: AppError, requestId: string): ErrorEnvelope {
  return {
    error: {
      message: err.message,
      code: err.code,
      slug: err.slug,
      status: err.status,
      request_id: requestId,
      ...(err.suggestedFix ? { suggested_fix: err.suggestedFix } : {}),
      ...(err.errors?.length ? { errors: err.errors } : {}),
    },
  };
}

async function errorHandlerPlugin(app: FastifyInstance) {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    let appErr = toAppError(err);
    if (!appErr) {
      const e = err as Error;
      // The stack helps the operator; the request's headers and body are never logged.
      request.log.error({ err: { type: e?.name, message: e?.message, stack: e?.stack } }, 'unhandled error');
      if (isResponseSerializationError(err)) request.log.error('response did not match its schema');
      appErr = new AppError('Internal_ServerError', 'Internal server error', {
        suggestedFix: `Retry later; if it persists, report request ${request.id} to the operator`,
      });
    } else if (appErr.slug === 'Database_Unavailable') {
      // An outage, not a bug: one line per request at warn, so the operator sees it without alarms.
      request.log.warn({ slug: appErr.slug }, appErr.message);
    } else if (appErr.status >= 500) {
      request.log.error({ slug: appErr.slug }, appErr.message);
    }
    if (appErr.headers) reply.headers(appErr.headers);
    return reply.code(appErr.status).type('application/json').send(envelope(appErr, request.id));
  });

  app.setNotFoundHandler((request, reply) => {
    const err = new AppError('Route_NotFound', `Route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)} not found`);
    return reply.code(404).type('application/json').send(envelope(err, request.id));
  });
}

export default fp(errorHandlerPlugin, { name: 'error-handler' });
