/** /toolkits (Composio's shape) and /custom_toolkits (Latchkey's: a project registers its own). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { callerOf } from '../../plugins/auth.js';
import type { RouteDeps } from '../../app.js';
import {
  CategoryList,
  CustomToolkitBody,
  CustomToolkitCreated,
  GetToolkitQuery,
  ListToolkitsQuery,
  MultiToolkitsBody,
  ToolkitDetail,
  ToolkitList,
  ToolkitSlugParams,
} from './toolkits.schemas.js';
import { successResponse } from '../../lib/schemas.js';

export const toolkitsRoutes: FastifyPluginAsyncZod<RouteDeps> = async (app, { services, limits }) => {
  const { toolkits } = services;

  app.get('/toolkits', {
    schema: {
      operationId: 'listToolkits',
      summary: 'List toolkits',
      tags: ['Toolkits'],
      description: 'Lists the toolkits this project can use: the built-in catalogue and its own.',
      querystring: ListToolkitsQuery,
      response: { 200: ToolkitList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => toolkits.list(callerOf(req).projectId, req.query),
  });

  app.get('/toolkits/categories', {
    schema: {
      operationId: 'getToolkitsCategories',
      summary: 'List toolkit categories',
      tags: ['Toolkits'],
      description: 'Every category the toolkits this project can use belong to, as `{id, name}`; an id filters `GET /toolkits?category=`.',
      response: { 200: CategoryList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => toolkits.categories(callerOf(req).projectId),
  });

  app.post('/toolkits/multi', {
    schema: {
      operationId: 'postToolkitsMulti',
      summary: 'Fetch multiple toolkits',
      tags: ['Toolkits'],
      description: 'The toolkit list with its filters in the body, optionally narrowed to the slugs in `toolkits`.',
      body: MultiToolkitsBody,
      response: { 200: ToolkitList },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => toolkits.multi(callerOf(req).projectId, req.body),
  });

  app.get('/toolkits/:slug', {
    schema: {
      operationId: 'getToolkit',
      summary: 'Get a toolkit',
      tags: ['Toolkits'],
      description: 'A toolkit with its auth schemes and the fields each needs. Slugs are case-insensitive.',
      params: ToolkitSlugParams,
      querystring: GetToolkitQuery,
      response: { 200: ToolkitDetail },
    },
    config: { rateLimit: limits.read },
    handler: async (req) => toolkits.get(callerOf(req).projectId, req.params.slug),
  });

  app.post('/custom_toolkits', {
    schema: {
      operationId: 'createCustomToolkit',
      summary: 'Register a custom toolkit',
      tags: ['Toolkits'],
      description: 'Latchkey extension: registers a toolkit in the catalogue format, visible to this project only.',
      body: CustomToolkitBody,
      response: { 201: CustomToolkitCreated },
    },
    config: { rateLimit: limits.write },
    handler: async (req, reply) => reply.code(201).send(await toolkits.createCustom(callerOf(req).projectId, req.body)),
  });

  app.put('/custom_toolkits/:slug', {
    schema: {
      operationId: 'replaceCustomToolkit',
      summary: 'Replace a custom toolkit',
      tags: ['Toolkits'],
      description: "Latchkey extension: replaces one of this project's toolkits.",
      params: ToolkitSlugParams,
      body: CustomToolkitBody,
      response: { 200: CustomToolkitCreated },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => toolkits.replaceCustom(callerOf(req).projectId, req.params.slug, req.body),
  });

  app.delete('/custom_toolkits/:slug', {
    schema: {
      operationId: 'deleteCustomToolkit',
      summary: 'Remove a custom toolkit',
      tags: ['Toolkits'],
      description: "Latchkey extension: removes one of this project's toolkits.",
      params: ToolkitSlugParams,
      response: { 200: successResponse },
    },
    config: { rateLimit: limits.write },
    handler: async (req) => toolkits.deleteCustom(callerOf(req).projectId, req.params.slug),
  });
};
