/**
 * A compiled response serializer for the hottest routes (a connected account, a page of them):
 * the route's zod response schema, turned into JSON Schema once, compiled by fast-json-stringify.
 * The zod serializer validates the whole object and then calls JSON.stringify, which for a page of
 * fifty accounts cost more CPU than reading it; the compiled one writes the known fields directly.
 * It is still an allow-list: fields the schema does not name are never written.
 * Used per route (`serializerCompiler: compiledSerializer`), where the handler's result is built by
 * typed code (so nothing is left for validation to catch); other routes keep zod's.
 */
import fastJson from 'fast-json-stringify';
import { z } from 'zod';

type JsonSchema = Record<string, unknown>;

export function toSerializerSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' }) as JsonSchema;
  return json;
}

export function compiledSerializer({ schema }: { schema: unknown }): (data: unknown) => string {
  return fastJson(toSerializerSchema(schema as z.ZodType) as unknown as Parameters<typeof fastJson>[0]);
}
