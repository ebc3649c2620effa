/** Wire shapes of GET /audit_logs (a Latchkey extension; Composio has no such route). */
import { z } from 'zod';
import { csvParam, cursorParam, limitParam } from '../../lib/schemas.js';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from './audit.actions.js';

export const AuditListQuery = z.object({
  object_id: z.string().trim().min(1).max(120).optional().describe('Records about this object (ca_…, ac_…, key_…, tk slug, project id), including records about several objects that name it'),
  actor: z.string().trim().min(1).max(120).optional().describe('key_… (an API key), operator:<name>, end_user or system'),
  action: csvParam(z.enum(AUDIT_ACTIONS), AUDIT_ACTIONS.length).optional().describe('One or more actions, comma-joined'),
  from: z.iso.datetime({ offset: true }).optional().describe('Records at or after this time (ISO 8601)'),
  to: z.iso.datetime({ offset: true }).optional().describe('Records before this time (ISO 8601)'),
  limit: limitParam(200, 50),
  cursor: cursorParam.optional(),
});

export const AuditRecordObject = z.object({
  id: z.string(),
  actor: z.string(),
  action: z.string(),
  object_id: z.string(),
  object_ids: z
    .array(z.string())
    .nullable()
    .describe('The objects of a record about several (a list page that returned credentials: object_id is then the project); null otherwise'),
  outcome: z.enum(AUDIT_OUTCOMES),
  request_id: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()).nullable(),
  created_at: z.string(),
});
export type AuditRecordObject = z.infer<typeof AuditRecordObject>;

export const AuditList = z.object({ items: z.array(AuditRecordObject), next_cursor: z.string().nullable() });
