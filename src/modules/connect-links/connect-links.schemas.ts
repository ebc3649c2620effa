/** Wire shapes of POST /connected_accounts/link (Composio's contract §3.9). */
import { z } from 'zod';
import { AuthConfigId } from '../auth-configs/auth-configs.schemas.js';
import { Experimental, ExperimentalOut, UserId, Val } from '../connected-accounts/connected-accounts.schemas.js';

export const CreateLinkBody = z.object({
  auth_config_id: AuthConfigId,
  user_id: UserId,
  callback_url: z.url({ protocol: /^https?$/ }).max(2000).optional(),
  alias: z.string().max(255).regex(/^\P{Cc}*$/u).optional(),
  /** Pre-filled fields, e.g. a subdomain, so the page does not ask for them. */
  connection_data: Val.optional(),
  /** `account_type`, and for SHARED accounts the ACL (connected-accounts/shared-access.ts). */
  experimental: Experimental,
});
export type CreateLinkBody = z.infer<typeof CreateLinkBody>;

export const CreateLinkResponse = z.object({
  link_token: z.string(),
  redirect_url: z.string(),
  expires_at: z.string(),
  connected_account_id: z.string(),
  experimental: ExperimentalOut,
});
