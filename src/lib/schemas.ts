/** Shared zod building blocks: every string is bounded, every list and number has limits. */
import { z } from 'zod';

export const nonEmpty = (max = 255) => z.string().trim().min(1).max(max);

/** Booleans in query strings ("true"/"false"/"1"/"0"). */
export const queryBool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

/** `limit` in list queries. */
export const limitParam = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

/**
 * Array query parameters: Composio clients send one comma-joined value (`user_ids=a%2Cb`); repeated
 * keys are accepted too. Each item is trimmed, empty items dropped, and each bounded.
 */
export const csvParam = <T extends z.ZodType<string, string>>(item: T, maxItems = 100) =>
  z
    .union([z.string().max(20_000), z.array(z.string().max(20_000)).max(maxItems)])
    .transform((v) =>
      (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(','))
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(z.array(item).max(maxItems));

export const cursorParam = z.string().max(512);

/** Lowercase toolkit slug, accepted in any case. */
export const toolkitSlug = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'not a toolkit slug')
  // Checked before lower-casing: Unicode case folding would turn e.g. the Kelvin sign into "k".
  .transform((s) => s.toLowerCase());

export const successResponse = z.object({ success: z.boolean() });

/** The list envelope every list endpoint returns. */
export const listEnvelope = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    next_cursor: z.string().nullable(),
    total_pages: z.number().int(),
    current_page: z.number().int(),
    total_items: z.number().int(),
  });

/**
 * The error envelope (plugins/error-handler.ts renders it), as the API description documents it for
 * every declared 4xx. Kept in step with the handler's ErrorEnvelope type by a compile-time check in
 * plugins/openapi-responses.ts.
 */
export const errorEnvelope = z
  .object({
    error: z.object({
      message: z.string(),
      code: z.number().int().describe("Latchkey's numeric error code"),
      slug: z.string().describe('Stable machine-readable name, e.g. ConnectedAccount_ResourceNotFound'),
      status: z.number().int().describe('The HTTP status, repeated'),
      request_id: z.string().describe('Also in the x-request-id header'),
      suggested_fix: z.string().optional(),
      errors: z.array(z.string()).optional().describe('One entry per invalid field (validation errors)'),
    }),
  })
  .describe("An error, in Composio's envelope");
