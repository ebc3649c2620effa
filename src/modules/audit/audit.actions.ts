/**
 * Every action an audit record may name: one list, so the API's `action` filter, the docs and the
 * recorders agree. Changes are recorded in the transaction that makes them; `*.read_secret`,
 * `connected_account.list_secrets` and `proxy.call` are reads that handed out a credential (or used one), recorded through the buffer.
 */
export const AUDIT_ACTIONS = [
  'api_key.create',
  'api_key.revoke',
  'project.create',
  'project.update_settings',
  'project.set_masking',
  'auth_config.create',
  'auth_config.update',
  'auth_config.enable',
  'auth_config.disable',
  'auth_config.delete',
  'toolkit.create',
  'toolkit.update',
  'toolkit.delete',
  'connected_account.create',
  'connected_account.update',
  'connected_account.enable',
  'connected_account.disable',
  'connected_account.delete',
  'connected_account.revoke',
  'connected_account.status_change',
  'connected_account.read_secret',
  /** One list page that returned credentials: `object_id` is the project, `object_ids` the accounts. */
  'connected_account.list_secrets',
  'connected_account.read_auth_params',
  'webhook_subscription.create',
  'webhook_subscription.update',
  'webhook_subscription.delete',
  'webhook_subscription.rotate_secret',
  'webhook_subscription.redeliver',
  'encryption_key.rotate',
  'proxy.call',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
