/**
 * "Auth params": what a caller needs to call the provider directly, computed from the toolkit's
 * description of how a credential goes on a request, with `{{field}}` templates filled from the
 * account's fields (and the auth config's non-secret fields).
 */
import type { AuthSchemeDefinition, ToolkitDefinition } from '../toolkits/toolkit-definition.js';

const TEMPLATE = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

export function fill(template: string, values: Record<string, unknown>): string {
  return template.replace(TEMPLATE, (_m, name: string) => {
    const v = values[name];
    return typeof v === 'string' || typeof v === 'number' ? String(v) : '';
  });
}

export type AuthParams = {
  base_url: string;
  parameters: { name: string; in: 'header' | 'query'; value: string }[];
  body: Record<string, unknown>;
};

export function computeAuthParams(toolkit: ToolkitDefinition, scheme: AuthSchemeDefinition | undefined, values: Record<string, unknown>): AuthParams {
  const parameters: AuthParams['parameters'] = [];
  for (const r of scheme?.request_auth ?? []) {
    if (r.in === 'basic') {
      const pair = `${fill(r.username, values)}:${fill(r.password, values)}`;
      parameters.push({ name: 'Authorization', in: 'header', value: `Basic ${Buffer.from(pair, 'utf8').toString('base64')}` });
    } else {
      parameters.push({ name: r.name, in: r.in, value: fill(r.value, values) });
    }
  }
  // An MCP server connected by URL is its own base: the resource its token is bound to (RFC 8707),
  // as discovered from the auth config's URL; never a template a user could fill.
  const resource = (scheme?.mode === 'DCR_OAUTH' || scheme?.mode === 'CIMD_OAUTH') && typeof values.resource === 'string' ? values.resource : undefined;
  return { base_url: resource ?? fill(scheme?.base_url ?? toolkit.base_url ?? '', values), parameters, body: {} };
}
