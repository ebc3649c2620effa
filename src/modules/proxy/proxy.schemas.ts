/** Wire shapes of the provider proxy: Composio's POST /tools/execute/proxy, and Latchkey's extensions. */
import { z } from 'zod';
import { cursorParam, limitParam } from '../../lib/schemas.js';
import { AccountParams } from '../connected-accounts/connected-accounts.schemas.js';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

export const ProxyParameter = z.object({
  name: z.string().min(1).max(200),
  type: z.enum(['header', 'query']),
  value: z.string().max(8000),
});

export const ProxyBody = z.object({
  /** Required here: Latchkey has no "default account of the project". */
  connected_account_id: z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/, 'not a connected account id'),
  endpoint: z.string().min(1).max(4000),
  method: z.enum(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']),
  body: z.unknown().optional(),
  binary_body: z
    .union([
      z.object({ base64: z.string().min(1), content_type: z.string().max(200).optional() }),
      z.object({ url: z.url({ protocol: /^https?$/ }).max(4000), content_type: z.string().max(200).optional() }),
    ])
    .optional(),
  parameters: z.array(ProxyParameter).max(100).optional(),
  /** Deprecated at Composio; accepted and ignored (the account's stored credentials are used). */
  custom_connection_data: z.unknown().optional(),
});
export type ProxyBody = z.infer<typeof ProxyBody>;

export const BinaryData = z.object({
  url: z.string().describe('Download URL (GET with the same x-api-key), valid until expires_at'),
  content_type: z.string(),
  size: z.number(),
  expires_at: z.string(),
});

export const ProxyResponse = z.object({
  status: z.number().int().describe("The provider's HTTP status (4xx and 5xx included)"),
  data: z.unknown().describe('JSON parsed; text as a string; null for binary or empty bodies'),
  headers: z.record(z.string(), z.string()).describe("The provider's headers, without hop-by-hop headers and Set-Cookie"),
  binary_data: BinaryData.optional(),
});

export const FileParams = z.object({ id: z.string().min(1).max(60).regex(/^[A-Za-z0-9_]+$/, 'not a file id') });

export const PassThroughParams = AccountParams.extend({ '*': z.string().max(4000) });
export { HEADER_NAME };

export const ProxyCallsQuery = z.object({ limit: limitParam(200, 50), cursor: cursorParam.optional() });

export const ProxyCall = z.object({
  id: z.string(),
  connected_account_id: z.string(),
  api_key_id: z.string(),
  method: z.string(),
  host: z.string(),
  path: z.string().describe('Path and query parameter names; values are never kept'),
  upstream_status: z.number().int().nullable().describe("The provider's status; null when Latchkey answered itself"),
  error: z.string().nullable().describe("Latchkey's error slug when the call did not complete"),
  bytes_in: z.number().int(),
  bytes_out: z.number().int(),
  duration_ms: z.number().int(),
  created_at: z.string(),
});

export const ProxyCallList = z.object({ items: z.array(ProxyCall), next_cursor: z.string().nullable() });
