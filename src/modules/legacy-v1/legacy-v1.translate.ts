/**
 * The older API's words for Latchkey's things, one table per object. Nothing here decides anything
 * a v3.1 route would decide differently: these functions only rename and reshape what the services
 * return.
 *
 *   old name                          Latchkey
 *   ──────────────────────────────    ─────────────────────────────────────────
 *   app (appId, key, appName)         toolkit (slug)
 *   integration (integrationId)       auth config (ac_…)
 *   entity (entityId, user_uuid,      user_id ("default" when absent)
 *     clientUniqueUserId, userUuid)
 *   connected account                 connected account (ca_…)
 *   useComposioAuth                   is_composio_managed
 *   expectedInputFields               the scheme's connected_account_initiation fields
 *   connectionParams                  stored fields + auth params (headers, queryParams, base_url)
 */
import type { AuthConfigObject } from '../auth-configs/auth-configs.schemas.js';
import type { AccountObject } from '../connected-accounts/connected-accounts.schemas.js';
import type { Status } from '../connected-accounts/state-machine.js';
import { type AuthSchemeDefinition, type ToolkitDefinition, type ToolkitField, logoOf } from '../toolkits/toolkit-definition.js';

/** The statuses the older clients know. */
export const LEGACY_STATUSES = ['INITIATED', 'ACTIVE', 'FAILED', 'EXPIRED'] as const;
export type LegacyStatus = (typeof LEGACY_STATUSES)[number];

/** Latchkey status → the older status. INACTIVE keeps ACTIVE and says so in `enabled`/`isDisabled`. */
export const LEGACY_STATUS: Record<Status, LegacyStatus> = {
  INITIALIZING: 'INITIATED', // a Connect Link not yet opened: the connection has been started
  INITIATED: 'INITIATED',
  ACTIVE: 'ACTIVE',
  INACTIVE: 'ACTIVE', // disabled by the app: the old API kept the status and set enabled=false
  FAILED: 'FAILED',
  EXPIRED: 'EXPIRED',
  REVOKED: 'EXPIRED', // the credential no longer works and needs a new consent, as an expired one does
};

/** The other way, for the `status` list filter. */
export const STATUSES_FOR: Record<LegacyStatus, Status[]> = {
  INITIATED: ['INITIALIZING', 'INITIATED'],
  ACTIVE: ['ACTIVE', 'INACTIVE'],
  FAILED: ['FAILED'],
  EXPIRED: ['EXPIRED', 'REVOKED'],
};

/** What the old clients read from a field. */
export function legacyField(f: ToolkitField, expectedFromCustomer: boolean) {
  return {
    name: f.name,
    display_name: f.displayName,
    description: f.description,
    type: f.type,
    required: f.required,
    default: f.default ?? null,
    expected_from_customer: expectedFromCustomer,
    is_secret: f.is_secret,
  };
}

/** The end user's fields (what `getExpectedParamsForUser` returns). */
export const expectedInputFields = (scheme: AuthSchemeDefinition | undefined) =>
  (scheme?.fields.connected_account_initiation ?? []).map((f) => legacyField(f, true));

const isNoAuth = (d: ToolkitDefinition) => d.auth_schemes.length === 0 || d.auth_schemes.every((s) => s.mode === 'NO_AUTH');

export function appSummary(d: ToolkitDefinition) {
  return {
    appId: d.slug,
    key: d.slug,
    name: d.name,
    description: d.description,
    logo: logoOf(d),
    categories: d.categories.map((c) => c.name),
    enabled: true,
    no_auth: isNoAuth(d),
  };
}

/** An app with its schemes; `managed` are the schemes with operator credentials ("test connectors"). */
export function appDetail(d: ToolkitDefinition, managed: string[]) {
  return {
    ...appSummary(d),
    auth_schemes: d.auth_schemes.map((s) => ({
      mode: s.mode,
      auth_mode: s.mode,
      name: s.name,
      // The developer's fields first (not from the customer), then the end user's.
      fields: [...s.fields.auth_config_creation.map((f) => legacyField(f, false)), ...expectedInputFields(s)],
    })),
    testConnectors: d.auth_schemes
      .filter((s) => managed.includes(s.mode))
      .map((s) => ({ id: `managed_${d.slug}_${s.mode.toLowerCase()}`, name: `Latchkey managed ${s.name}`, authScheme: s.mode })),
  };
}

export function integration(c: AuthConfigObject, scheme: AuthSchemeDefinition | undefined) {
  return {
    id: c.id,
    name: c.name,
    authScheme: c.auth_scheme,
    enabled: c.status === 'ENABLED',
    deleted: false,
    appId: c.toolkit.slug,
    appName: c.toolkit.slug,
    logo: c.toolkit.logo,
    useComposioAuth: c.is_composio_managed,
    authConfig: c.credentials ?? {}, // secrets already masked by the auth-configs service
    limitedActions: c.tool_access_config.tools_available_for_execution,
    expectedInputFields: expectedInputFields(scheme),
    connectionsCount: c.no_of_connections,
    createdAt: c.created_at,
    updatedAt: c.last_updated_at,
  };
}

/** Auth params as the old `connectionParams` spell them. */
export type AuthParams = { base_url: string; parameters: { name: string; in: 'header' | 'query'; value: string }[] };

export function connectionParams(a: AccountObject, auth: AuthParams | undefined) {
  const { status: _status, ...fields } = a.state.val;
  const pick = (where: 'header' | 'query') => Object.fromEntries((auth?.parameters ?? []).filter((p) => p.in === where).map((p) => [p.name, p.value]));
  return {
    ...fields,
    headers: pick('header'),
    queryParams: pick('query'),
    base_url: auth?.base_url ?? '',
  };
}

export function account(a: AccountObject, auth: AuthParams | undefined) {
  return {
    id: a.id,
    status: LEGACY_STATUS[a.status],
    appName: a.toolkit.slug,
    appUniqueId: a.toolkit.slug,
    integrationId: a.auth_config.id,
    clientUniqueUserId: a.user_id,
    entityId: a.user_id,
    labels: a.labels,
    enabled: !a.is_disabled,
    isDisabled: a.is_disabled,
    statusReason: a.status_reason,
    invocationCount: 0,
    createdAt: a.created_at,
    updatedAt: a.updated_at,
    connectionParams: connectionParams(a, auth),
  };
}

export function connectionStarted(r: { id: string; status: Status; redirect_url: string | null }) {
  return { connectionStatus: LEGACY_STATUS[r.status], connectedAccountId: r.id, redirectUrl: r.redirect_url };
}

/**
 * What the old clients show of an error: the top-level `message`, and on a 400 the `details` list.
 * Field problems are put in words ("Field api_key is required"); other messages pass unchanged.
 */
export function legacyError(message: string, errors: string[] | undefined) {
  const details = (errors ?? []).map((e) => {
    const m = /^(?:[\w.]+\.)?([\w-]+): required$/.exec(e);
    return m ? `Field ${m[1]} is required` : e;
  });
  return details.length ? { message: details.join('; '), details } : { message };
}
