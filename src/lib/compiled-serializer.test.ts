import { describe, expect, it } from 'vitest';
import { AccountList, AccountObject } from '../modules/connected-accounts/connected-accounts.schemas.js';
import { compiledSerializer } from './compiled-serializer.js';

const account = {
  id: 'ca_abc',
  toolkit: { slug: 'linear' },
  auth_config: { id: 'ac_1', auth_scheme: 'API_KEY', is_composio_managed: false, is_disabled: false },
  user_id: 'user "quoted" \u2028 ünï',
  status: 'ACTIVE',
  status_reason: null,
  is_disabled: false,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-02T00:00:00.000Z',
  state: { authScheme: 'API_KEY', val: { status: 'ACTIVE', api_key: 'lin_api_x', port: 443, tls: true, scopes: ['a', 'b'] } },
  data: { status: 'ACTIVE', api_key: 'lin_api_x' },
  params: {},
  word_id: 'linear_brave-otter',
  alias: null,
  experimental: { account_type: 'SHARED', acl_config_for_shared: { allow_all_users: false, allowed_user_ids: ['bob'], not_allowed_user_ids: [] } },
  labels: ['env=prod'],
};

describe('compiledSerializer', () => {
  it('writes what the zod schema allows, as JSON.stringify of the parsed object would', () => {
    const serialize = compiledSerializer({ schema: AccountObject });
    const priv = { ...account, alias: 'work', status_reason: 'x', experimental: { account_type: 'PRIVATE' } };
    for (const a of [account, priv]) expect(JSON.parse(serialize(a))).toEqual(JSON.parse(JSON.stringify(AccountObject.parse(a))));
  });

  it('never writes a field the schema does not name', () => {
    const out = compiledSerializer({ schema: AccountObject })({ ...account, state_sealed: 'v1:secret', secret_keys: ['api_key'] });
    expect(out).not.toContain('v1:secret');
    expect(Object.keys(JSON.parse(out))).not.toContain('secret_keys');
  });

  it('serialises a list envelope', () => {
    const page = { items: [account, account], next_cursor: null, total_items: 2, total_pages: 1, current_page: 1 };
    expect(JSON.parse(compiledSerializer({ schema: AccountList })(page))).toEqual(JSON.parse(JSON.stringify(AccountList.parse(page))));
  });
});
