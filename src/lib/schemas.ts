/** Shared zod building blocks: every string is bounded, every list and number has limits. */
import { z } from 'zod';

/**
 * Characters a request may not carry in any string (or object key): NUL, which PostgreSQL cannot
 * store in text or jsonb; the other C0 control characters except tab, newline and carriage return
 * (nothing legitimate here needs them, and they corrupt logs and pages); and lone UTF-16 surrogates,
 * which jsonb refuses and text would silently replace.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSTORABLE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F]|\p{Cs}/u;
const UNSTORABLE_MESSAGE = 'must not contain NUL, control characters or unpaired surrogates';

export const isStorableText = (s: string) => !UNSTORABLE.test(s);

/** The path of the first string or key in `value` that is not storable, or undefined. */
export function findUnstorable(value: unknown, path: (string | number)[] = [], depth = 0): (string | number)[] | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const bad = findUnstorable(value[i], [...path, i], depth + 1);
      if (bad) return bad;
    }
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!isStorableText(k)) return [...path, k.replace(UNSTORABLE, '?')];
    const bad = findUnstorable(v, [...path, k], depth + 1);
    if (bad) return bad;
  }
  return undefined;
}

/**
 * A request schema that also refuses unstorable characters anywhere in what it accepts (strings at
 * any depth, free-form JSON values and keys included). app.ts applies it to every route's body,
 * querystring and params through the validator compiler, so no route can forget it; the database
 * error translator (db/errors.ts) is only the backstop.
 */
export function storable<T extends z.ZodType>(schema: T): T {
  return schema.superRefine((value, ctx) => {
    const bad = findUnstorable(value);
    if (bad) ctx.addIssue({ code: 'custom', path: bad, message: UNSTORABLE_MESSAGE });
  }) as unknown as T;
}

/**
 * A pure check that accepts only values its schema accepts unchanged (no default, coercion or
 * transform to apply), so the hottest routes skip zod on well-formed input; anything the check does
 * not accept goes through the schema, which answers as before (the 400 and its message included).
 */
type FastCheck = (value: unknown) => boolean;
const fastChecks = new WeakMap<z.ZodType, FastCheck>();

/** Registers `accepts` as the fast path of `schema` (see withFastPath). */
export function withFastCheck<T extends z.ZodType>(schema: T, accepts: FastCheck): T {
  fastChecks.set(schema, accepts);
  return schema;
}

/** `validate` behind the fast check registered for `schema`, if any (app.ts's validator compiler). */
export function withFastPath<R>(schema: unknown, validate: (data: unknown) => R): (data: unknown) => R | { value: unknown } {
  const accepts = typeof schema === 'object' && schema !== null ? fastChecks.get(schema as z.ZodType) : undefined;
  return accepts ? (data) => (accepts(data) ? { value: data } : validate(data)) : validate;
}

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

/** Lowercase toolkit slug, accepted in any case (Composio's may start with `_`, e.g. `_21risk`). */
export const toolkitSlug = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,62}$/, 'not a toolkit slug')
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
