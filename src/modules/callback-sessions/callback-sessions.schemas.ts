import { z } from 'zod';
import { AuthSchemeSchema } from '../toolkits/toolkit-definition.js';
import { UserId } from '../connected-accounts/connected-accounts.schemas.js';

export const CompleteAuthBody = z.object({
  session_uri: z.string().trim().min(1).max(200),
  user_id: UserId,
});
export type CompleteAuthBody = z.infer<typeof CompleteAuthBody>;

/** Both shapes Composio's sources show: the SDK's flat keys and the changelog's nested account. */
export const CompleteAuthResponse = z.object({
  connected_account_id: z.string(),
  toolkit_slug: z.string(),
  connected_account: z.object({
    id: z.string(),
    user_id: z.string(),
    status: z.literal('ACTIVE'),
    toolkit: z.object({ slug: z.string() }),
    auth_config: z.object({ id: z.string(), auth_scheme: AuthSchemeSchema, is_composio_managed: z.boolean() }),
  }),
});
