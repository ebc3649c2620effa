/** Bounds on everything the console's pages accept: path parameters, queries and form fields. */
import { z } from 'zod';

/** Rows per page on every console list. */
export const PAGE_SIZE = 20;

const id = z.string().regex(/^[a-z]{1,6}_[0-9A-Za-z]{6,40}$/, 'not an id');
const text = (max: number) => z.string().trim().max(max);
const cursor = z.string().max(500).regex(/^[A-Za-z0-9_-]*$/, 'not a cursor').optional();

export const KeysetCursor = z.object({ at: z.iso.datetime(), id: z.string().max(64) });
export const SeqCursor = z.object({ seq: z.string().regex(/^\d{1,19}$/) });

export const ProjectParams = z.object({ projectId: id });
export const ItemParams = z.object({ projectId: id, id });
export const DeliveryParams = z.object({ projectId: id, id, deliveryId: id });
export const TokenParams = z.object({ token: z.string().max(100) });

export const PageQuery = z.object({ page: z.coerce.number().int().min(1).max(1_000_000).default(1) });
export const CursorQuery = z.object({ cursor });
export const AccountsQuery = z.object({
  user: text(256).optional(),
  toolkit: text(63).optional(),
  status: z.enum(['', 'INITIALIZING', 'INITIATED', 'ACTIVE', 'FAILED', 'EXPIRED', 'INACTIVE', 'REVOKED']).optional(),
  label: text(64).optional(),
  cursor,
  /** The account just deleted (the list says so). */
  deleted: id.optional(),
});
export const AccountQuery = z.object({ events: cursor, deliveries: cursor, audit: cursor, done: z.enum(['disable', 'enable', 'revoke']).optional() });
export const WebhookQuery = z.object({ cursor, done: z.enum(['retry']).optional() });

/** Every form posts its CSRF value; the rest depends on the form. */
export const CsrfForm = z.object({ csrf: z.string().max(100) }).catchall(z.string().max(2000));
export const SignInForm = z.object({ email: text(254), password: z.string().max(200), csrf: z.string().max(100) });
export const NameForm = z.object({ name: text(120).min(1, 'a name is required'), csrf: z.string().max(100) });
export const SignInNext = z.object({ next: z.string().max(500).optional() });
const localTime = z.string().regex(/^(\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?)?$/, 'a date and time').optional();
export const AuditQuery = z.object({
  object: text(120).optional(),
  actor: text(120).optional(),
  action: z.string().max(60).regex(/^[a-z_.]*$/).optional(),
  from: localTime,
  to: localTime,
  cursor,
});
